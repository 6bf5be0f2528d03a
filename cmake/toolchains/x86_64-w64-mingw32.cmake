# Cross-compiles tide for 64-bit Windows with Debian's mingw-w64 (package gcc-mingw-w64-x86-64),
# with the IOCP backend (TIDE_BACKEND auto resolves to iocp for Windows). Tests run under wine
# (CMAKE_CROSSCOMPILING_EMULATOR).
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

# Executables link mingw's runtime (libgcc, libwinpthread for the examples' pthreads) statically,
# so that they run under wine or on Windows without those DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_FIND_ROOT_PATH /usr/${TIDE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR wine)
