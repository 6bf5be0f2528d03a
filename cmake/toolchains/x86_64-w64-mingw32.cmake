# Cross-compiles tide for 64-bit Windows with Debian's mingw-w64 (package gcc-mingw-w64-x86-64).
# Only the pieces that exist for Windows build yet (the context switch and task stacks, see
# cmake/TideContext.cmake); the IOCP backend comes later. Tests can run under wine
# (CMAKE_CROSSCOMPILING_EMULATOR) once there is a backend to link them against.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(TIDE_CROSS_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${TIDE_CROSS_TRIPLE}-gcc)
# The C++ cross compiler is needed only by the benchmarks; without it they are skipped.
find_program(TIDE_CROSS_CXX ${TIDE_CROSS_TRIPLE}-g++)
if(TIDE_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${TIDE_CROSS_CXX})
endif()
set(CMAKE_ASM_COMPILER ${TIDE_CROSS_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${TIDE_CROSS_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${TIDE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR wine)
