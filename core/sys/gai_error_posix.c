/* core/sys/gai_error_posix.c — getaddrinfo's EAI_* codes to TIDE_E* on POSIX systems.
 *
 * EAI_NODATA and EAI_ADDRFAMILY are glibc/BSD extensions (dropped from POSIX), hidden unless the
 * headers are asked for them, hence the feature macros and the #ifdefs; EAI_SYSTEM means "see
 * errno". */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY */
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif
#include "errno_map.h"

#include <netdb.h>

#include "tide/error.h"

int tide__err_from_gai(int gai_err, int sys_errno) {
  switch (gai_err) {
    case 0:
      return TIDE_OK;
    case EAI_NONAME:
    case EAI_SERVICE:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return TIDE_ENOENT;
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
    case EAI_FAMILY:
      return TIDE_EAFNOSUPPORT;
    case EAI_AGAIN:
      return TIDE_EAGAIN;
    case EAI_MEMORY:
      return TIDE_ENOMEM;
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
      return TIDE_EINVAL;
    case EAI_FAIL:
      return TIDE_EIO;
    case EAI_SYSTEM:
      return sys_errno != 0 ? tide__err_from_errno(sys_errno) : TIDE_EUNKNOWN;
    default:
      return TIDE_EUNKNOWN;
  }
}
