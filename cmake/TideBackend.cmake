# Chooses the backend at configure time (-DTIDE_BACKEND=auto|epoll|kqueue|iocp|io_uring) and sets
# TIDE_BACKEND_SOURCES and TIDE_SYS_SOURCES for it. Only the chosen backend's folder is compiled.
include(CheckSymbolExists)

set(TIDE_BACKEND "auto" CACHE STRING "I/O backend: auto, epoll, kqueue, iocp or io_uring")
set_property(CACHE TIDE_BACKEND PROPERTY STRINGS auto epoll kqueue iocp io_uring)

function(tide_resolve_backend out_var)
  set(backend "${TIDE_BACKEND}")
  set(known auto epoll kqueue iocp io_uring)
  if(NOT backend IN_LIST known)
    message(FATAL_ERROR "TIDE_BACKEND='${backend}' is not a tide backend; choose one of: ${known}")
  endif()
  if(backend STREQUAL "auto")
    if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
      set(backend epoll)
    elseif(APPLE OR CMAKE_SYSTEM_NAME MATCHES "BSD|DragonFly")
      set(backend kqueue)
    elseif(WIN32)
      set(backend iocp)
    else()
      message(FATAL_ERROR "tide has no backend for ${CMAKE_SYSTEM_NAME}; set TIDE_BACKEND")
    endif()
  endif()

  if(backend STREQUAL "epoll")
    check_symbol_exists(epoll_create1 "sys/epoll.h" TIDE_HAVE_EPOLL)
    check_symbol_exists(eventfd "sys/eventfd.h" TIDE_HAVE_EVENTFD)
    if(NOT TIDE_HAVE_EPOLL OR NOT TIDE_HAVE_EVENTFD)
      message(FATAL_ERROR "TIDE_BACKEND=epoll needs Linux's epoll_create1 and eventfd, which "
                          "this target (${CMAKE_SYSTEM_NAME}) does not have")
    endif()
    set(sources backends/posix/reactor.c backends/posix/io.c backends/posix/net_posix.c
                backends/posix/dns_posix.c backends/epoll/epoll_poller.c)
  else()
    message(FATAL_ERROR "TIDE_BACKEND=${backend} is planned but not implemented in this version "
                        "of tide; the available backend is epoll (Linux)")
  endif()

  set(TIDE_BACKEND_SOURCES ${sources} PARENT_SCOPE)
  set(TIDE_SYS_SOURCES core/sys/clock_posix.c core/sys/errno_map_posix.c core/sys/mutex_posix.c
      PARENT_SCOPE)
  set(${out_var} ${backend} PARENT_SCOPE)
endfunction()
