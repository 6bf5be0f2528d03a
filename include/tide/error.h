/* tide/error.h — error codes.
 *
 * Every tide call that can fail returns a negative TIDE_E* code; 0 (TIDE_OK) is success. The
 * values are tide's own and identical on every platform: errno and WSA/Win32 codes are mapped
 * onto them at the OS boundary, so a caller compares against TIDE_ECONNRESET and never against
 * ECONNRESET or WSAECONNRESET.
 */
#ifndef TIDE_ERROR_H
#define TIDE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum tide_error {
  TIDE_OK = 0,
  TIDE_EINVAL = -1,         /* invalid argument: the caller broke a documented contract */
  TIDE_ENOMEM = -2,         /* out of memory */
  TIDE_ECANCELED = -3,      /* the operation was cancelled before it completed */
  TIDE_ETIMEDOUT = -4,      /* a deadline passed before the operation completed */
  TIDE_EALREADY = -5,       /* the future (or operation) has already settled */
  TIDE_EPENDING = -6,       /* the result was asked for before the future settled */
  TIDE_EBUSY = -7,          /* the object is in use (e.g. closing a loop that is running) */
  TIDE_ECLOSED = -8,        /* the loop or handle is closing or closed */
  TIDE_EAGAIN = -9,         /* resource temporarily unavailable */
  TIDE_EIO = -10,           /* an I/O error the OS reported without more detail */
  TIDE_EBADF = -11,         /* not an open descriptor, or not usable for this operation */
  TIDE_EPIPE = -12,         /* write to a pipe or socket whose reader has gone */
  TIDE_ECONNRESET = -13,    /* the peer reset the connection */
  TIDE_ECONNREFUSED = -14,  /* nothing listens at the address */
  TIDE_ECONNABORTED = -15,  /* the connection was aborted locally */
  TIDE_ENOTCONN = -16,      /* the socket is not connected */
  TIDE_EADDRINUSE = -17,    /* the address is already in use */
  TIDE_EADDRNOTAVAIL = -18, /* the address is not available on this host */
  TIDE_EAFNOSUPPORT = -19,  /* address family not supported */
  TIDE_ENETUNREACH = -20,   /* network unreachable */
  TIDE_EHOSTUNREACH = -21,  /* host unreachable */
  TIDE_EMSGSIZE = -22,      /* message too long for the socket */
  TIDE_EMFILE = -23,        /* the process has no free descriptors */
  TIDE_ENFILE = -24,        /* the system has no free descriptors */
  TIDE_EACCES = -25,        /* permission denied */
  TIDE_ENOENT = -26,        /* no such file, directory or name */
  TIDE_ENOTSUP = -27,       /* not supported by this platform or backend */
  TIDE_ERANGE = -28,        /* a value is out of the representable range */
  TIDE_ENOSPC = -29,        /* no space left on the device */
  TIDE_EUNKNOWN = -30       /* an OS error tide has no code for (see the log for details) */
};

/* Returns a static, human-readable description of a tide error code ("connection reset by
 * peer"). Never returns NULL: an unknown value yields "unknown error". Any thread. */
const char *tide_strerror(int err);

/* Returns the symbolic name of a tide error code ("TIDE_ECONNRESET"), or "TIDE_E?" for a value
 * that is not a tide error code. Never returns NULL. Any thread. */
const char *tide_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
