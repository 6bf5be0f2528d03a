# Chooses the backend at configure time (-DTIDE_BACKEND=auto|epoll|kqueue|iocp|io_uring) and sets
# TIDE_BACKEND_SOURCES and TIDE_SYS_SOURCES for it. Only the chosen backend's folder is compiled.
include(CheckIncludeFile)
include(CheckSymbolExists)

set(TIDE_BACKEND "auto" CACHE STRING "I/O backend: auto, epoll, kqueue, iocp or io_uring")
set_property(CACHE TIDE_BACKEND PROPERTY STRINGS auto epoll kqueue iocp io_uring)

# Finds kqueue for TIDE_BACKEND=kqueue and sets out_libs to what must be linked for it. macOS and
# the BSDs have it in libc. Elsewhere a `kqueue` library with its sys/event.h (libkqueue, which
# emulates kqueue over epoll on Linux) is looked for through CMAKE_PREFIX_PATH; its header is
# given to the poller alone (a source property), so it shadows nothing else.
function(tide_find_kqueue out_libs)
  set(headers sys/types.h sys/event.h)
  check_symbol_exists(kqueue "${headers}" TIDE_HAVE_KQUEUE_IN_LIBC)
  set(libs "")
  if(NOT TIDE_HAVE_KQUEUE_IN_LIBC)
    find_path(TIDE_KQUEUE_INCLUDE_DIR sys/event.h PATH_SUFFIXES kqueue
              DOC "Folder holding a kqueue emulation's sys/event.h (libkqueue)")
    find_library(TIDE_KQUEUE_LIBRARY kqueue DOC "A kqueue emulation library (libkqueue)")
    if(NOT TIDE_KQUEUE_INCLUDE_DIR OR NOT TIDE_KQUEUE_LIBRARY)
      message(FATAL_ERROR "TIDE_BACKEND=kqueue: ${CMAKE_SYSTEM_NAME}'s C library has no kqueue, "
                          "and no kqueue library (libkqueue: sys/event.h and libkqueue) was found; "
                          "point CMAKE_PREFIX_PATH at one, or use the system's own backend")
    endif()
    set(CMAKE_REQUIRED_INCLUDES ${TIDE_KQUEUE_INCLUDE_DIR})
    set(CMAKE_REQUIRED_LIBRARIES ${TIDE_KQUEUE_LIBRARY})
    check_symbol_exists(kqueue "${headers}" TIDE_HAVE_KQUEUE_LIBRARY)
    if(NOT TIDE_HAVE_KQUEUE_LIBRARY)
      message(FATAL_ERROR "TIDE_BACKEND=kqueue: ${TIDE_KQUEUE_LIBRARY} with "
                          "${TIDE_KQUEUE_INCLUDE_DIR}/sys/event.h does not link kqueue()")
    endif()
    set_property(SOURCE backends/kqueue/kqueue_poller.c APPEND PROPERTY INCLUDE_DIRECTORIES
                 ${TIDE_KQUEUE_INCLUDE_DIR})
    set(libs ${TIDE_KQUEUE_LIBRARY})
  endif()
  # The wake-up is an EVFILT_USER event (FreeBSD 8, macOS 10.6, NetBSD 10, libkqueue).
  check_symbol_exists(EVFILT_USER "${headers}" TIDE_HAVE_EVFILT_USER)
  if(NOT TIDE_HAVE_EVFILT_USER)
    message(FATAL_ERROR "TIDE_BACKEND=kqueue needs EVFILT_USER, which this system's sys/event.h "
                        "does not define")
  endif()
  set(${out_libs} ${libs} PARENT_SCOPE)
endfunction()

# Compile definitions for the readiness backends' sources, for calls that some POSIX systems lack
# (macOS has neither accept4 nor pipe2): backends/posix/descriptor.h falls back without them.
function(tide_posix_features sources)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
  check_symbol_exists(accept4 "sys/socket.h" TIDE_HAVE_ACCEPT4)
  check_symbol_exists(pipe2 "unistd.h;fcntl.h" TIDE_HAVE_PIPE2)
  set(defs "")
  foreach(feature TIDE_HAVE_ACCEPT4 TIDE_HAVE_PIPE2)
    if(${feature})
      list(APPEND defs ${feature}=1)
    endif()
  endforeach()
  if(defs)
    set_property(SOURCE ${sources} APPEND PROPERTY COMPILE_DEFINITIONS ${defs})
  endif()
endfunction()

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
    set(sources backends/posix/reactor.c backends/posix/io.c backends/posix/accept_reserve.c
                backends/posix/net_posix.c
                backends/epoll/epoll_poller.c
                backends/sockets/net_sockets.c)
    set(include_dir backends/posix)
    set(libs "")
  elseif(backend STREQUAL "kqueue")
    tide_find_kqueue(libs)
    # The same readiness reactor as epoll (keep the two lists in step), over the kqueue poller.
    set(sources backends/posix/reactor.c backends/posix/io.c backends/posix/accept_reserve.c
                backends/posix/net_posix.c
                backends/kqueue/kqueue_poller.c
                backends/sockets/net_sockets.c)
    set(include_dir backends/posix)
  elseif(backend STREQUAL "iocp")
    if(NOT WIN32)
      message(FATAL_ERROR "TIDE_BACKEND=iocp needs a Windows target (for a cross build, use "
                          "cmake/toolchains/x86_64-w64-mingw32.cmake); this one is "
                          "${CMAKE_SYSTEM_NAME}")
    endif()
    # GetQueuedCompletionStatusEx, CancelIoEx and SetFileCompletionNotificationModes are Vista+;
    # AF_UNIX needs Windows 10 1803 at run time only (it fails cleanly before).
    set(sources backends/iocp/port.c backends/iocp/ops.c backends/iocp/accept_connect.c
                backends/iocp/net_win32.c backends/iocp/pipe_win32.c
                backends/sockets/net_sockets.c)
    set(include_dir backends/iocp)
    set(libs ws2_32 ntdll)
  elseif(backend STREQUAL "io_uring")
    if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
      message(FATAL_ERROR "TIDE_BACKEND=io_uring needs a Linux target; this one is "
                          "${CMAKE_SYSTEM_NAME} (use auto for its own backend)")
    endif()
    # No liburing: the raw syscalls and the kernel's UAPI header (linux-libc-dev). The opcodes,
    # setup flags and IORING_ENTER_EXT_ARG used are in the 6.1 headers; the kernel it runs on
    # is asked at run time (backends/uring/ring.c), and older ones give TIDE_ENOTSUP.
    check_symbol_exists(IORING_SETUP_DEFER_TASKRUN "linux/io_uring.h" TIDE_HAVE_IO_URING_H)
    check_symbol_exists(eventfd "sys/eventfd.h" TIDE_HAVE_EVENTFD)
    if(NOT TIDE_HAVE_IO_URING_H OR NOT TIDE_HAVE_EVENTFD)
      message(FATAL_ERROR "TIDE_BACKEND=io_uring needs <linux/io_uring.h> from Linux 6.1 or "
                          "newer (Debian: linux-libc-dev) and eventfd")
    endif()
    # The readiness reactor's syscalls (io.c) serve the descriptors that are not sockets.
    set(sources backends/uring/ring.c backends/uring/backend.c backends/uring/sockets.c
                backends/uring/polled.c
                backends/posix/io.c backends/posix/accept_reserve.c backends/posix/net_posix.c
                backends/sockets/net_sockets.c)
    set(include_dir backends/uring)
    set(libs "")
    # valgrind's client requests (backends/uring/memcheck.h): compiled in when the header is
    # there, never a run-time dependency.
    check_include_file(valgrind/memcheck.h TIDE_HAVE_MEMCHECK_H)
    if(TIDE_HAVE_MEMCHECK_H)
      set_property(SOURCE backends/uring/backend.c backends/uring/sockets.c APPEND
                   PROPERTY COMPILE_DEFINITIONS TIDE_HAVE_MEMCHECK_H=1)
    endif()
  else()
    message(FATAL_ERROR "TIDE_BACKEND=${backend} is not implemented in this version of tide")
  endif()

  if(backend STREQUAL "epoll" OR backend STREQUAL "kqueue" OR backend STREQUAL "io_uring")
    tide_posix_features("${sources}")
  endif()
  set(TIDE_BACKEND_SOURCES ${sources} PARENT_SCOPE)
  # The folder holding the backend's backend_op.h (core/op.h includes it by name).
  set(TIDE_BACKEND_INCLUDE_DIR ${PROJECT_SOURCE_DIR}/${include_dir} PARENT_SCOPE)
  set(TIDE_BACKEND_LIBS ${libs} PARENT_SCOPE)
  # The OS shims every backend's core needs (the executor's are chosen in TideExecutor.cmake).
  # errno_map.c maps errno everywhere (the C runtime's on Windows); errno_map_win32.c adds the
  # Win32 and Winsock codes.
  if(WIN32)
    set(TIDE_SYS_SOURCES core/sys/clock_win32.c core/sys/errno_map.c core/sys/errno_map_win32.c
        core/sys/gai_error_win32.c core/sys/mutex_win32.c PARENT_SCOPE)
  else()
    set(TIDE_SYS_SOURCES core/sys/clock_posix.c core/sys/errno_map.c core/sys/gai_error_posix.c
        core/sys/mutex_posix.c PARENT_SCOPE)
  endif()
  set(${out_var} ${backend} PARENT_SCOPE)
endfunction()
