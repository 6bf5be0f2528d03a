/* core/sys/gai_error_win32.c — getaddrinfo's error codes to TIDE_E* on Windows.
 *
 * Winsock's getaddrinfo returns WSA* codes (also left in WSAGetLastError), which ws2tcpip.h
 * names EAI_*: EAI_NONAME is WSAHOST_NOT_FOUND, EAI_AGAIN WSATRY_AGAIN, EAI_FAIL WSANO_RECOVERY,
 * and so on. There is no EAI_SYSTEM and errno is not involved. The codes whose meaning for a
 * lookup differs from the general Win32/WSA mapping are listed here (a bad socket type in the
 * hints is the caller's error, not an unsupported feature); the rest go through
 * tide__err_from_win32. */
#include "errno_map.h"

#include <winsock2.h>
#include <ws2tcpip.h>

#include "tide/error.h"

int tide__err_from_gai(int gai_err, int sys_errno) {
  (void)sys_errno;
  /* Some SDKs define EAI_NODATA as EAI_NONAME: an if, not a case label that could duplicate. */
  if (gai_err == EAI_NODATA)
    return TIDE_ENOENT;
  switch (gai_err) {
    case 0:
      return TIDE_OK;
    case EAI_NONAME:
    case EAI_SERVICE:
      return TIDE_ENOENT;
    case EAI_AGAIN:
      return TIDE_EAGAIN;
    case EAI_FAIL:
      return TIDE_EIO;
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
      return TIDE_EINVAL;
    default:
      return gai_err > 0 ? tide__err_from_win32((unsigned long)gai_err) : TIDE_EUNKNOWN;
  }
}
