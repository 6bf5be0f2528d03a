/* backends/iocp/accept_connect.c — ACCEPT with AcceptEx and CONNECT with ConnectEx for the IOCP
 * backend, and the overlapped sockets they (and net_win32.c) create.
 *
 * Windows pitfalls handled here:
 *  - AcceptEx and ConnectEx are not exported by ws2_32: their addresses come from
 *    WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) on a socket, strictly per provider. They are
 *    looked up once per backend on the first socket that needs them, which is right for the
 *    base TCP/IP provider every socket tide creates uses.
 *  - AcceptEx wants the accepted socket created beforehand, with the listener's family and
 *    protocol (recorded at attach), and an output buffer holding both addresses, each with 16
 *    spare bytes; GetAcceptExSockaddrs parses it. A listener has one such buffer, since only the
 *    head of its read queue is ever issued.
 *  - The accepted socket inherits nothing until SO_UPDATE_ACCEPT_CONTEXT is set: without it,
 *    getpeername, shutdown and setsockopt fail on it. ConnectEx's socket likewise needs
 *    SO_UPDATE_CONNECT_CONTEXT.
 *  - Creating the accept socket can fail with WSAEMFILE/WSAENOBUFS: that accept completes with
 *    TIDE_EMFILE/TIDE_ENOBUFS, and the next one creates a socket afresh, so the listener is
 *    never wedged and nothing spins (the client waits in the backlog meanwhile).
 *  - A client that resets before its connection is accepted completes the AcceptEx with a
 *    reset: the accept is re-issued for the next client, as accept(2) callers retry
 *    ECONNABORTED.
 *  - ConnectEx requires a bound socket: it is bound to the wildcard address of the destination's
 *    family first (WSAEINVAL from bind means it already was).
 *  - Sockets are created with WSA_FLAG_NO_HANDLE_INHERIT (Windows 7 SP1+) so that a process
 *    spawned by another thread never inherits one; where the flag is unknown the handle is made
 *    non-inheritable right after instead.
 *  - AF_UNIX sockets (Windows 10 1803+) do not support ConnectEx; a local connect completes or
 *    fails at once, so it is performed synchronously. */
#include "backends/iocp/iocp.h"

#include <stdlib.h>
#include <string.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif

int tide__iocp_socket(int family, int type, int protocol, SOCKET *out) {
  SOCKET s =
      WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    s = WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET)
      (void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  }
  if (s == INVALID_SOCKET)
    return tide__err_from_win32((unsigned long)WSAGetLastError());
  *out = s;
  return 0;
}

static int load_function(SOCKET s, GUID guid, void *fn, size_t size) {
  DWORD n = 0;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, fn, (DWORD)size, &n, NULL,
               NULL) != 0)
    return tide__err_from_win32((unsigned long)WSAGetLastError());
  return 0;
}

static int load_extensions(tide__backend *b, SOCKET s) {
  if (b->ext_loaded)
    return 0;
  GUID accept_guid = WSAID_ACCEPTEX;
  GUID sockaddrs_guid = WSAID_GETACCEPTEXSOCKADDRS;
  GUID connect_guid = WSAID_CONNECTEX;
  int err = load_function(s, accept_guid, &b->ext.accept_ex, sizeof b->ext.accept_ex);
  if (err == 0)
    err = load_function(s, sockaddrs_guid, &b->ext.get_accept_ex_sockaddrs,
                        sizeof b->ext.get_accept_ex_sockaddrs);
  if (err == 0)
    err = load_function(s, connect_guid, &b->ext.connect_ex, sizeof b->ext.connect_ex);
  b->ext_loaded = err == 0;
  return err;
}

void tide__iocp_accept_cleanup(tide__iocp_handle *h) {
  if (h->accept_socket != INVALID_SOCKET)
    closesocket(h->accept_socket);
  h->accept_socket = INVALID_SOCKET;
  free(h->accept_buffer);
  h->accept_buffer = NULL;
}

/* ---- accept ---------------------------------------------------------------------------------- */

tide__iocp_step tide__iocp_start_accept(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                        intptr_t *result) {
  int err = h->is_socket && h->is_stream ? 0 : TIDE_EINVAL;
  if (err == 0)
    err = load_extensions(b, (SOCKET)h->fd);
  if (err == 0 && h->accept_buffer == NULL &&
      (h->accept_buffer = malloc(2 * TIDE__IOCP_ACCEPT_ADDR)) == NULL)
    err = TIDE_ENOMEM;
  SOCKET s = INVALID_SOCKET;
  if (err == 0)
    err = tide__iocp_socket(h->family, SOCK_STREAM, h->protocol, &s);
  if (err != 0) {
    *result = err;
    return TIDE__IOCP_DONE;
  }
  h->accept_socket = s;
  OVERLAPPED *ov = tide__iocp_overlapped(op);
  memset(ov, 0, sizeof *ov);
  DWORD received = 0;
  int ok = b->ext.accept_ex((SOCKET)h->fd, s, h->accept_buffer, 0, TIDE__IOCP_ACCEPT_ADDR,
                            TIDE__IOCP_ACCEPT_ADDR, &received, ov);
  return tide__iocp_after_call(b, h, op, ok, ok ? 0 : (DWORD)WSAGetLastError(), result);
}

static int client_gave_up(DWORD error) {
  return error == WSAECONNRESET || error == ERROR_NETNAME_DELETED ||
         error == ERROR_CONNECTION_ABORTED || error == WSAECONNABORTED;
}

tide__iocp_step tide__iocp_finish_accept(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                         DWORD error, intptr_t *result) {
  SOCKET s = h->accept_socket;
  h->accept_socket = INVALID_SOCKET;
  if (error == 0 && !h->attached)
    error = ERROR_OPERATION_ABORTED; /* the listener is gone: nobody would take the socket */
  if (error != 0) {
    closesocket(s);
    if (error == ERROR_OPERATION_ABORTED)
      *result = TIDE_ECANCELED;
    else if (client_gave_up(error))
      return TIDE__IOCP_AGAIN; /* take the next client (port.c stops if cancelled) */
    else
      *result = tide__err_from_win32(error);
    return TIDE__IOCP_DONE;
  }
  SOCKET listener = (SOCKET)h->fd;
  if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&listener,
                 sizeof listener) != 0) {
    *result = tide__err_from_win32((unsigned long)WSAGetLastError());
    closesocket(s);
    return TIDE__IOCP_DONE;
  }
  if (op->addr != NULL) {
    struct sockaddr *local = NULL, *remote = NULL;
    int local_len = 0, remote_len = 0;
    b->ext.get_accept_ex_sockaddrs(h->accept_buffer, 0, TIDE__IOCP_ACCEPT_ADDR,
                                   TIDE__IOCP_ACCEPT_ADDR, &local, &local_len, &remote,
                                   &remote_len);
    size_t n = remote != NULL && remote_len > 0 ? (size_t)remote_len : 0;
    memcpy(op->addr, remote, n < op->addrlen ? n : op->addrlen);
    op->addrlen = (uint32_t)n;
  }
  int err = tide__backend_attach(b, (tide__fd)s);
  if (err != 0) {
    closesocket(s);
    *result = err;
    return TIDE__IOCP_DONE;
  }
  *result = (intptr_t)s;
  return TIDE__IOCP_DONE;
}

/* ---- connect --------------------------------------------------------------------------------- */

static int bind_wildcard(SOCKET s, int family) {
  struct sockaddr_storage any;
  memset(&any, 0, sizeof any);
  any.ss_family = (ADDRESS_FAMILY)family;
  int len = family == AF_INET6 ? (int)sizeof(struct sockaddr_in6) : (int)sizeof(struct sockaddr_in);
  if (bind(s, (struct sockaddr *)&any, len) == 0 || WSAGetLastError() == WSAEINVAL)
    return 0;
  return tide__err_from_win32((unsigned long)WSAGetLastError());
}

tide__iocp_step tide__iocp_start_connect(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                         intptr_t *result) {
  SOCKET s = (SOCKET)h->fd;
  const struct sockaddr *addr = op->addr;
  if (!h->is_socket || addr == NULL) {
    *result = TIDE_EINVAL;
    return TIDE__IOCP_DONE;
  }
  if (addr->sa_family == AF_UNIX) {
    *result = connect(s, addr, (int)op->addrlen) == 0
                  ? 0
                  : tide__err_from_win32((unsigned long)WSAGetLastError());
    return TIDE__IOCP_DONE;
  }
  int err = load_extensions(b, s);
  if (err == 0)
    err = bind_wildcard(s, addr->sa_family);
  if (err != 0) {
    *result = err;
    return TIDE__IOCP_DONE;
  }
  OVERLAPPED *ov = tide__iocp_overlapped(op);
  memset(ov, 0, sizeof *ov);
  int ok = b->ext.connect_ex(s, addr, (int)op->addrlen, NULL, 0, NULL, ov);
  return tide__iocp_after_call(b, h, op, ok, ok ? 0 : (DWORD)WSAGetLastError(), result);
}

tide__iocp_step tide__iocp_finish_connect(tide__iocp_handle *h, DWORD error, intptr_t *result) {
  /* A detached handle was cancelled with its ops, and its number may already name another socket
   * (port.c): the context update must not reach that one. */
  if (error == ERROR_OPERATION_ABORTED || (error == 0 && !h->attached)) {
    *result = TIDE_ECANCELED;
    return TIDE__IOCP_DONE;
  }
  if (error == 0 && setsockopt((SOCKET)h->fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
    error = (DWORD)WSAGetLastError();
  *result = error == 0 ? 0 : tide__err_from_win32(error);
  return TIDE__IOCP_DONE;
}
