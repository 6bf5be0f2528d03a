# Chooses the OS shims the executor needs (-DTIDE_PARK=auto|futex|condvar) and sets
# TIDE_EXECUTOR_SYS_SOURCES: threads, and the park/wake primitive idle threads sleep on.
#   futex    Linux futex(2): a sleeping thread costs the kernel a wait-queue entry, nothing more.
#   condvar  a table of mutex + condition-variable buckets hashed by address, for POSIX systems
#            without a futex (and to test that path on Linux).
#   auto     futex on Linux, condvar elsewhere.
set(TIDE_PARK "auto" CACHE STRING "How idle executor threads sleep: auto, futex or condvar")
set_property(CACHE TIDE_PARK PROPERTY STRINGS auto futex condvar)

function(tide_resolve_executor_sys out_sources)
  set(park "${TIDE_PARK}")
  set(known auto futex condvar)
  if(NOT park IN_LIST known)
    message(FATAL_ERROR "TIDE_PARK='${park}' is not a park implementation; choose one of: ${known}")
  endif()
  if(park STREQUAL "auto")
    if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
      set(park futex)
    else()
      set(park condvar)
    endif()
  endif()
  if(park STREQUAL "futex" AND NOT (CMAKE_SYSTEM_NAME STREQUAL "Linux" OR
                                    CMAKE_SYSTEM_NAME STREQUAL "Android"))
    message(FATAL_ERROR "TIDE_PARK=futex needs Linux; use TIDE_PARK=condvar on ${CMAKE_SYSTEM_NAME}")
  endif()
  if(WIN32)
    message(FATAL_ERROR "tide's executor has no Win32 thread shim yet (core/sys/thread_win32.c)")
  endif()
  set(sources core/sys/thread_posix.c)
  if(park STREQUAL "futex")
    list(APPEND sources core/sys/park_linux.c)
  else()
    list(APPEND sources core/sys/park_posix.c)
  endif()
  message(STATUS "tide: executor threads sleep on ${park}")
  set(${out_sources} ${sources} PARENT_SCOPE)
endfunction()

tide_resolve_executor_sys(TIDE_EXECUTOR_SYS_SOURCES)
