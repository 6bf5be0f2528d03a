# Cross-compiles tide for 64-bit Arm Linux with Debian's gcc-aarch64-linux-gnu, and runs the
# tests under qemu-user (package qemu-user), so `ctest` works as on a native build.
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# -L points qemu at the target's dynamic loader and libraries, where Debian's cross packages put
# them.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(TIDE_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${TIDE_CROSS_TRIPLE}-gcc)
# The C++ cross compiler is needed only by the benchmarks; without it they are skipped.
find_program(TIDE_CROSS_CXX ${TIDE_CROSS_TRIPLE}-g++)
if(TIDE_CROSS_CXX)
  set(CMAKE_CXX_COMPILER ${TIDE_CROSS_CXX})
endif()
set(CMAKE_ASM_COMPILER ${TIDE_CROSS_TRIPLE}-gcc)

set(TIDE_CROSS_SYSROOT /usr/${TIDE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${TIDE_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;${TIDE_CROSS_SYSROOT})
# tide registers its tests and examples as `${TIDE_TEST_WRAPPER} $<TARGET_FILE:...>` (so that
# valgrind can wrap them), and CMake puts CMAKE_CROSSCOMPILING_EMULATOR only in front of a test
# command that starts with a bare target name; so the emulator is the default test wrapper too.
set(TIDE_TEST_WRAPPER "${CMAKE_CROSSCOMPILING_EMULATOR}" CACHE STRING
    "A command list every test runs under (here: the emulator)")
