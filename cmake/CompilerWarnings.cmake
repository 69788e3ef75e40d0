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
