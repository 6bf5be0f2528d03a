/* core/sys/errno_map_win32.c — Win32 ERROR_* and Winsock WSAE* codes to TIDE_E*.
 *
 * Windows has three error spaces and tide meets all of them:
 *  - errno, set by the C runtime (malloc, _open, ...): mapped by the table every platform shares,
 *    in errno_map.c.
 *  - Win32 codes (GetLastError, and the status of a completed overlapped operation as
 *    GetQueuedCompletionStatusEx / GetOverlappedResult report it). An overlapped socket operation
 *    completes with the NT status translated to a Win32 code, not a WSAE* code: a reset
 *    connection arrives as ERROR_NETNAME_DELETED, a refused connect as ERROR_CONNECTION_REFUSED,
 *    a closed socket's pending I/O as ERROR_OPERATION_ABORTED. They are mapped here to what the
 *    same event gives on POSIX.
 *  - Winsock codes (WSAGetLastError after a synchronous call), 10000 and up, so they never
 *    collide with a Win32 code in one switch. Several WSA_* names (WSA_INVALID_HANDLE,
 *    WSA_NOT_ENOUGH_MEMORY, WSA_INVALID_PARAMETER, WSA_OPERATION_ABORTED, WSA_IO_PENDING) are
 *    aliases of Win32 codes and are covered by those.
 *
 * The numbers are spelled with the SDK's names; <windows.h> and <winsock2.h> are the only inputs,
 * so this compiles with mingw-w64 and MSVC alike. */
#include "errno_map.h"

/* winsock2.h must come before windows.h, or windows.h drags in the old winsock.h. */
#include <winsock2.h>
#include <windows.h>

#include "tide/error.h"

int tide__err_from_win32(unsigned long code) {
  switch (code) {
    case ERROR_SUCCESS:
      return TIDE_OK;

    case ERROR_INVALID_PARAMETER: /* = WSA_INVALID_PARAMETER */
    case ERROR_INVALID_FLAGS:
    case ERROR_INVALID_ADDRESS:
    case ERROR_INVALID_USER_BUFFER:
    case ERROR_NOACCESS: /* a buffer the caller passed is not accessible (WSAEFAULT's kin) */
    case ERROR_INSUFFICIENT_BUFFER:
    case ERROR_BAD_LENGTH:
    case WSAEINVAL:
    case WSAEFAULT: /* a bad pointer or a too-short address length */
      return TIDE_EINVAL;

    case ERROR_NOT_ENOUGH_MEMORY: /* = WSA_NOT_ENOUGH_MEMORY */
    case ERROR_OUTOFMEMORY:
    case ERROR_NOT_ENOUGH_QUOTA:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
    case WSAENOBUFS: /* Winsock ran out of non-paged pool for buffers */
      return TIDE_ENOMEM;

    case ERROR_OPERATION_ABORTED: /* = WSA_OPERATION_ABORTED: CancelIoEx or closesocket */
    case ERROR_CANCELLED:
    case WSAEINTR: /* a blocking Winsock call cut short by closesocket */
      return TIDE_ECANCELED;

    case WAIT_TIMEOUT:
    case ERROR_TIMEOUT:
    case ERROR_SEM_TIMEOUT:
    case WSAETIMEDOUT:
      return TIDE_ETIMEDOUT;

    case WSAEALREADY:
      return TIDE_EALREADY;

    case ERROR_BUSY:
    case ERROR_PIPE_BUSY: /* every instance of a named pipe is taken */
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return TIDE_EBUSY;

    case WSAEWOULDBLOCK:
    case WSATRY_AGAIN:
    case ERROR_RETRY:
      return TIDE_EAGAIN;

    case ERROR_IO_DEVICE:
    case ERROR_CRC:
    case ERROR_GEN_FAILURE:
      return TIDE_EIO;

    case ERROR_INVALID_HANDLE: /* = WSA_INVALID_HANDLE */
    case WSAEBADF:
    case WSAENOTSOCK: /* a handle that is not a socket, given to a socket call */
      return TIDE_EBADF;

    /* The other end of a pipe closed, or this end of a socket was shut down for sending. A
     * reader meets ERROR_BROKEN_PIPE as end of stream; the backend tests for that first. */
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA: /* the pipe is being closed */
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_GRACEFUL_DISCONNECT: /* the peer closed while data was still being sent */
    case WSAESHUTDOWN:
      return TIDE_EPIPE;

    case ERROR_NETNAME_DELETED: /* how an overlapped socket operation reports an RST */
    case WSAECONNRESET:
    case WSAENETRESET:
      return TIDE_ECONNRESET;

    case ERROR_CONNECTION_REFUSED:
    case WSAECONNREFUSED:
    /* An ICMP port-unreachable answering a UDP datagram: Linux reports it as ECONNREFUSED on a
     * connected UDP socket, Windows as this on the next overlapped receive. */
    case ERROR_PORT_UNREACHABLE:
      return TIDE_ECONNREFUSED;

    case ERROR_CONNECTION_ABORTED:
    case ERROR_REQUEST_ABORTED:
    case WSAECONNABORTED:
      return TIDE_ECONNABORTED;

    case ERROR_CONNECTION_INVALID: /* no connection was ever made */
    case WSAENOTCONN:
    case WSAEDESTADDRREQ: /* a datagram with no destination */
      return TIDE_ENOTCONN;

    case ERROR_ADDRESS_ALREADY_ASSOCIATED:
    case ERROR_DUP_NAME: /* STATUS_ADDRESS_ALREADY_EXISTS from an overlapped bind/connect */
    case WSAEADDRINUSE:
      return TIDE_EADDRINUSE;

    case ERROR_INVALID_NETNAME: /* STATUS_INVALID_ADDRESS_COMPONENT from an overlapped connect */
    case WSAEADDRNOTAVAIL:
      return TIDE_EADDRNOTAVAIL;

    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT:
      return TIDE_EAFNOSUPPORT;

    case ERROR_NETWORK_UNREACHABLE:
    case WSAENETUNREACH:
    case WSAENETDOWN:
      return TIDE_ENETUNREACH;

    case ERROR_HOST_UNREACHABLE:
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN:
      return TIDE_EHOSTUNREACH;

    /* A datagram larger than the receive buffer: WSARecvFrom says WSAEMSGSIZE when it completes
     * at once, the completion port ERROR_MORE_DATA when it completes later. */
    case ERROR_MORE_DATA:
    case WSAEMSGSIZE:
      return TIDE_EMSGSIZE;

    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
      return TIDE_EMFILE;

    case ERROR_ACCESS_DENIED:
    case ERROR_NETWORK_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
    case WSAEACCES: /* e.g. bind to an address another socket holds exclusively */
      return TIDE_EACCES;

    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_BAD_PATHNAME:
    case ERROR_MOD_NOT_FOUND:
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
      return TIDE_ENOENT;

    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_INVALID_FUNCTION: /* the device or driver has no such operation */
    case WSAEOPNOTSUPP:
    case WSAESOCKTNOSUPPORT:
    case WSAEPROTONOSUPPORT:
      return TIDE_ENOTSUP;

    case ERROR_ARITHMETIC_OVERFLOW:
      return TIDE_ERANGE;

    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return TIDE_ENOSPC;

    default:
      return TIDE_EUNKNOWN;
  }
}
