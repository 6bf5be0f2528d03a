/* core/sys/errno_map.h — translation of the OS's error numbers into TIDE_E* codes. */
#ifndef TIDE_SYS_ERRNO_MAP_H
#define TIDE_SYS_ERRNO_MAP_H

/* Maps a positive errno value to a negative TIDE_E* code; unknown values give TIDE_EUNKNOWN.
 * On Windows this is the C runtime's errno (what malloc, _open and the CRT's POSIX-named calls
 * set), never a socket error: Winsock reports through WSAGetLastError, see below. */
int tide__err_from_errno(int errnum);

/* Maps getaddrinfo's return value to a negative TIDE_E* code (0 gives TIDE_OK): TIDE_ENOENT (no
 * such name or service), TIDE_EAGAIN (temporary resolver failure), TIDE_EAFNOSUPPORT,
 * TIDE_ENOMEM, TIDE_EINVAL (bad hints), TIDE_EIO (permanent resolver failure), TIDE_EUNKNOWN.
 * sys_errno is errno as getaddrinfo left it; it is used only for EAI_SYSTEM, which POSIX has and
 * Windows (where the codes are WSA* values) does not. Any thread. */
int tide__err_from_gai(int gai_err, int sys_errno);

#ifdef _WIN32
/* Maps a Win32 error code (GetLastError, the status of a completed overlapped operation,
 * ERROR_*) or a Winsock code (WSAGetLastError, WSAE*) to a negative TIDE_E* code: 0 gives
 * TIDE_OK, a code tide has no TIDE_E* for gives TIDE_EUNKNOWN. The two number spaces do not
 * overlap (Winsock's start at 10000), so one function takes either. Callers that give a code a
 * meaning of their own (ERROR_HANDLE_EOF or ERROR_BROKEN_PIPE as end of stream, ERROR_IO_PENDING
 * as "started") test for it before calling this. Any thread. */
int tide__err_from_win32(unsigned long code);
#endif

#endif
