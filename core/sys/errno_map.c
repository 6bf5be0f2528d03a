/* core/sys/errno_map.c — errno to TIDE_E*, on every platform.
 *
 * One table serves POSIX systems and the Windows C runtime alike: it is written with the names
 * <errno.h> defines, never with numbers. The values differ between systems (on Windows the
 * historic Unix ones sit below 43 and the POSIX names the CRT added later, ECONNRESET and the
 * like, at 100 and up), and so do coincidences: EWOULDBLOCK may or may not equal EAGAIN, and
 * EOPNOTSUPP may or may not equal ENOTSUP (they are distinct on Windows and equal on Linux), so
 * the pairs are tested with ifs rather than as switch cases (duplicate case labels would not
 * compile where they are equal). No CRT call tide makes on Windows sets the socket ones, but
 * mapping them costs nothing and keeps the function total. Win32 and Winsock codes are mapped
 * in errno_map_win32.c. */
#include "errno_map.h"

#include <errno.h>

#include "tide/error.h"

int tide__err_from_errno(int errnum) {
  if (errnum == EAGAIN || errnum == EWOULDBLOCK)
    return TIDE_EAGAIN;
  if (errnum == ENOTSUP || errnum == EOPNOTSUPP)
    return TIDE_ENOTSUP;
  switch (errnum) {
    case 0:
      return TIDE_OK;
    case EINVAL:
      return TIDE_EINVAL;
    case ENOMEM:
      return TIDE_ENOMEM;
    case ECANCELED:
      return TIDE_ECANCELED;
    case ETIMEDOUT:
      return TIDE_ETIMEDOUT;
    case EALREADY:
      return TIDE_EALREADY;
    case EBUSY:
      return TIDE_EBUSY;
    case EIO:
      return TIDE_EIO;
    case EBADF:
      return TIDE_EBADF;
    case EPIPE:
      return TIDE_EPIPE;
    case ECONNRESET:
      return TIDE_ECONNRESET;
    case ECONNREFUSED:
      return TIDE_ECONNREFUSED;
    case ECONNABORTED:
      return TIDE_ECONNABORTED;
    case ENOTCONN:
      return TIDE_ENOTCONN;
    case EDESTADDRREQ:
      return TIDE_ENOTCONN; /* a datagram with no destination */
    case EADDRINUSE:
      return TIDE_EADDRINUSE;
    case EADDRNOTAVAIL:
      return TIDE_EADDRNOTAVAIL;
    case EAFNOSUPPORT:
      return TIDE_EAFNOSUPPORT;
    case ENETUNREACH:
      return TIDE_ENETUNREACH;
    case EHOSTUNREACH:
      return TIDE_EHOSTUNREACH;
    case EMSGSIZE:
      return TIDE_EMSGSIZE;
    case EMFILE:
      return TIDE_EMFILE;
    case ENFILE:
      return TIDE_ENFILE;
    case EACCES:
    case EPERM:
      return TIDE_EACCES;
    case ENOENT:
      return TIDE_ENOENT;
    case ENOSYS:
      return TIDE_ENOTSUP;
    case ERANGE:
      return TIDE_ERANGE;
    case ENOSPC:
      return TIDE_ENOSPC;
    default:
      return TIDE_EUNKNOWN;
  }
}
