# Chooses the OS shims the executor needs (-DTIDE_PARK=auto|futex|condvar|waitonaddress) and sets
# TIDE_EXECUTOR_SYS_SOURCES (threads, and the park/wake primitive idle threads sleep on) and
# TIDE_EXECUTOR_SYS_LIBS (what they link).
#   futex          Linux futex(2): a sleeping thread costs the kernel a wait-queue entry, nothing
#                  more.
#   condvar        a table of mutex + condition-variable buckets hashed by address, for POSIX
#                  systems without a futex (and to test that path on Linux).
#   waitonaddress  Windows 8 and later: WaitOnAddress/WakeByAddress*, the Win32 futex (links
#                  synchronization.lib, mingw-w64's libsynchronization.a).
#   auto           futex on Linux, waitonaddress on Windows, condvar elsewhere.
set(TIDE_PARK "auto" CACHE STRING
    "How idle executor threads sleep: auto, futex, condvar or waitonaddress")
set_property(CACHE TIDE_PARK PROPERTY STRINGS auto futex condvar waitonaddress)

function(tide_resolve_executor_sys out_sources out_libs)
  set(park "${TIDE_PARK}")
  set(known auto futex condvar waitonaddress)
  if(NOT park IN_LIST known)
    message(FATAL_ERROR "TIDE_PARK='${park}' is not a park implementation; choose one of: ${known}")
  endif()
  set(linux FALSE)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
    set(linux TRUE)
  endif()
  if(park STREQUAL "auto")
    if(linux)
      set(park futex)
    elseif(WIN32)
      set(park waitonaddress)
    else()
      set(park condvar)
    endif()
  endif()
  if(park STREQUAL "futex" AND NOT linux)
    message(FATAL_ERROR "TIDE_PARK=futex needs Linux; use TIDE_PARK=auto on ${CMAKE_SYSTEM_NAME}")
  endif()
  if(park STREQUAL "waitonaddress" AND NOT WIN32)
    message(FATAL_ERROR "TIDE_PARK=waitonaddress needs Windows; use TIDE_PARK=auto on "
                        "${CMAKE_SYSTEM_NAME}")
  endif()
  if(park STREQUAL "condvar" AND WIN32)
    message(FATAL_ERROR "TIDE_PARK=condvar uses POSIX threads, which tide does not use on "
                        "Windows; use TIDE_PARK=auto (waitonaddress)")
  endif()

  set(libs "")
  if(WIN32)
    set(sources core/sys/thread_win32.c core/sys/park_win32.c)
    set(libs synchronization)
  else()
    set(sources core/sys/thread_posix.c)
    if(park STREQUAL "futex")
      list(APPEND sources core/sys/park_linux.c)
    else()
      list(APPEND sources core/sys/park_posix.c)
    endif()
  endif()
  message(STATUS "tide: executor threads sleep on ${park}")
  set(${out_sources} ${sources} PARENT_SCOPE)
  set(${out_libs} ${libs} PARENT_SCOPE)
endfunction()

tide_resolve_executor_sys(TIDE_EXECUTOR_SYS_SOURCES TIDE_EXECUTOR_SYS_LIBS)
