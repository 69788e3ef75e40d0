# Platform facts, computed once. Everything else asks these variables, never the
# compiler's predefined macros, which OS backend to build.
if(WIN32)
    set(OPAMPSUP_PLATFORM windows)
elseif(APPLE)
    set(OPAMPSUP_PLATFORM macos)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(OPAMPSUP_PLATFORM linux)
else()
    message(FATAL_ERROR "Unsupported platform: ${CMAKE_SYSTEM_NAME}")
endif()

if(OPAMPSUP_PLATFORM STREQUAL "windows")
    set(OPAMPSUP_POSIX OFF)
else()
    set(OPAMPSUP_POSIX ON)
endif()
message(STATUS "opampsupervisor platform backend: ${OPAMPSUP_PLATFORM}")
