# Warning and sanitizer flags for our own targets (not for generated protobuf code,
# which gets opampsup_relaxed_warnings instead).
add_library(opampsup_warnings INTERFACE)
if(MSVC)
    target_compile_options(opampsup_warnings INTERFACE /W4 /permissive-)
    if(OPAMPSUP_WERROR)
        target_compile_options(opampsup_warnings INTERFACE /WX)
    endif()
else()
    target_compile_options(opampsup_warnings INTERFACE
        -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
        -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
        -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        # GCC 12 reports std::string concatenation as overlapping memcpy when optimising
        # (GCC bug 105329, a false positive fixed in GCC 13).
        target_compile_options(opampsup_warnings INTERFACE -Wno-restrict)
    endif()
    if(OPAMPSUP_WERROR)
        target_compile_options(opampsup_warnings INTERFACE -Werror)
    endif()
endif()

if(OPAMPSUP_ENABLE_ASAN)
    set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_compile_options(${_san})
    add_link_options(${_san})
endif()

# ThreadSanitizer: our code is instrumented; Poco, protobuf and yaml-cpp from Debian are
# not, so races inside them go unseen, and only the known false positives of that mix are
# suppressed (tests/tsan.supp).
if(OPAMPSUP_ENABLE_TSAN)
    if(OPAMPSUP_ENABLE_ASAN)
        message(FATAL_ERROR "OPAMPSUP_ENABLE_TSAN and OPAMPSUP_ENABLE_ASAN exclude each other")
    endif()
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
    add_link_options(-fsanitize=thread)
endif()

# libFuzzer: everything is compiled with coverage instrumentation (fuzzer-no-link) and the
# sanitizers; only the fuzz executables link libFuzzer itself (-fsanitize=fuzzer, added in
# tests/fuzz/CMakeLists.txt), so a helper executable keeps its own main().
if(OPAMPSUP_BUILD_FUZZERS)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
