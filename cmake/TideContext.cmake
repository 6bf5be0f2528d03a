# Chooses how tasks switch stacks (-DTIDE_CONTEXT=auto|asm|ucontext|fiber) and sets
# TIDE_CONTEXT_SOURCES: the switch for the target plus the task-stack allocator for its OS.
#   asm       hand-written switches in core/context/: x86-64 System V (Linux, BSDs, macOS), AArch64
#             (Linux, BSDs, macOS), x86-64 Windows with mingw-w64 or clang (GNU assembler syntax).
#   ucontext  makecontext/swapcontext, for other POSIX systems; much slower (a system call per
#             switch).
#   fiber     Win32 fibers (ConvertThreadToFiberEx/CreateFiberEx/SwitchToFiber), Windows only: for
#             MSVC, which cannot assemble the GNU-syntax switch, and Windows targets without one.
#             Each task runs on a stack its fiber owns; a loop pools finished fibers for new tasks
#             (core/context/context_fiber.c).
#   auto      asm where there is one for the target; otherwise fiber on Windows, ucontext elsewhere.
# The choice reaches tide's sources, tests and benchmarks as TIDE_CONTEXT_ASM,
# TIDE_CONTEXT_UCONTEXT or TIDE_CONTEXT_FIBER (core/context/context.h lays out tide__context by
# it). It is a directory definition, so a parent project that vendors tide never sees it.
include(CheckIncludeFile)
include(CheckSymbolExists)

set(TIDE_CONTEXT "auto" CACHE STRING "Stack switching for tasks: auto, asm, ucontext or fiber")
set_property(CACHE TIDE_CONTEXT PROPERTY STRINGS auto asm ucontext fiber)

# Sets out_impl to asm, ucontext or fiber and out_sources to the files that implement it.
function(tide_resolve_context out_impl out_sources)
  set(impl "${TIDE_CONTEXT}")
  set(known auto asm ucontext fiber)
  if(NOT impl IN_LIST known)
    message(FATAL_ERROR "TIDE_CONTEXT='${impl}' is not a tide context switch; choose one of: "
                        "${known}")
  endif()

  # Which assembly file fits the target, if any. macOS may build several architectures into one
  # binary (CMAKE_OSX_ARCHITECTURES), so there both files are compiled: each .S assembles to
  # nothing for an architecture it is not written for.
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" cpu)
  set(asm_sources "")
  if(CMAKE_SIZEOF_VOID_P EQUAL 8)
    if(APPLE)
      set(asm_sources core/context/switch_x86_64_sysv.S core/context/switch_aarch64.S)
    elseif(WIN32)
      if(cpu MATCHES "^(x86_64|amd64)$" AND NOT MSVC)
        set(asm_sources core/context/switch_x86_64_win64.S)
      endif()
    elseif(cpu MATCHES "^(x86_64|amd64)$")
      set(asm_sources core/context/switch_x86_64_sysv.S)
    elseif(cpu MATCHES "^(aarch64|arm64)$")
      set(asm_sources core/context/switch_aarch64.S)
    endif()
  endif()

  if(impl STREQUAL "auto")
    if(asm_sources)
      set(impl asm)
    elseif(WIN32)
      set(impl fiber)
    else()
      set(impl ucontext)
    endif()
  endif()

  if(impl STREQUAL "asm")
    if(NOT asm_sources)
      message(FATAL_ERROR "TIDE_CONTEXT=asm: tide has no assembly switch for ${CMAKE_SYSTEM_NAME} "
                          "on ${CMAKE_SYSTEM_PROCESSOR} with ${CMAKE_C_COMPILER_ID}; the ones "
                          "there are x86-64 System V, AArch64 and x86-64 Windows (mingw/clang); "
                          "use TIDE_CONTEXT=fiber on Windows, TIDE_CONTEXT=ucontext on other POSIX "
                          "systems")
    endif()
    set(sources core/context/context_asm.c ${asm_sources})
  elseif(impl STREQUAL "fiber")
    if(NOT WIN32)
      message(FATAL_ERROR "TIDE_CONTEXT=fiber uses the Win32 fiber API and builds only for Windows; "
                          "this target is ${CMAKE_SYSTEM_NAME}. Use TIDE_CONTEXT=auto, asm or "
                          "ucontext")
    endif()
    set(sources core/context/context_fiber.c)
  else()
    check_symbol_exists(makecontext "ucontext.h" TIDE_HAVE_MAKECONTEXT)
    if(NOT TIDE_HAVE_MAKECONTEXT)
      message(FATAL_ERROR "TIDE_CONTEXT=${TIDE_CONTEXT}: this target (${CMAKE_SYSTEM_NAME} on "
                          "${CMAKE_SYSTEM_PROCESSOR}) has neither an assembly switch in tide nor "
                          "makecontext/swapcontext")
    endif()
    set(sources core/context/context_ucontext.c)
  endif()

  if(WIN32)
    list(APPEND sources core/sys/stack_win32.c)
  else()
    list(APPEND sources core/sys/stack_posix.c)
  endif()

  set(${out_impl} ${impl} PARENT_SCOPE)
  set(${out_sources} ${sources} PARENT_SCOPE)
endfunction()

tide_resolve_context(TIDE_CONTEXT_RESOLVED TIDE_CONTEXT_SOURCES)
message(STATUS "tide: context switch ${TIDE_CONTEXT_RESOLVED}")

# enable_language works only at file scope, so here rather than in the function.
if(TIDE_CONTEXT_RESOLVED STREQUAL "asm")
  enable_language(ASM)
  add_compile_definitions(TIDE_CONTEXT_ASM=1)
elseif(TIDE_CONTEXT_RESOLVED STREQUAL "fiber")
  add_compile_definitions(TIDE_CONTEXT_FIBER=1)
else()
  add_compile_definitions(TIDE_CONTEXT_UCONTEXT=1)
endif()

# Valgrind's client requests are macros in a header: found at configure time, they are compiled
# in; they are never a run-time dependency (outside valgrind they cost a few instructions).
if(NOT WIN32)
  check_include_file(valgrind/valgrind.h TIDE_HAVE_VALGRIND_H)
  if(TIDE_HAVE_VALGRIND_H)
    set_property(SOURCE core/sys/stack_posix.c APPEND PROPERTY COMPILE_DEFINITIONS
                 TIDE_HAVE_VALGRIND_H=1)
  endif()
endif()
