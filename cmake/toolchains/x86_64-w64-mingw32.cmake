# Cross-compiling for 64-bit Windows with Debian's mingw-w64 (the -posix flavour, whose
# libstdc++ has std::thread and std::mutex). Tests run under Wine: CMake puts the
# emulator in front of every test command that names one of our targets.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_mingw}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The C++ runtime and winpthreads linked in: the exes run anywhere (and under Wine) without
# mingw's DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Debian's wine64 package installs the loader here, without a wrapper on PATH.
find_program(OPAMPSUP_WINE NAMES wine64 wine PATHS /usr/lib/wine)
if(OPAMPSUP_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${OPAMPSUP_WINE})
endif()
