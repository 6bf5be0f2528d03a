/* backends/iocp/iocp.h — what the IOCP backend's files share: the per-handle state, the op
 * queues, and the entry points between port.c (the port, the handle table, poll, cancel), ops.c
 * (reads, writes, datagrams, shutdown) and accept_connect.c (AcceptEx, ConnectEx).
 *
 * The model, in one paragraph: each attached handle has two FIFO queues, the read side and the
 * write side of core/op.h. Only the head of a queue is ever issued to the kernel; the ops behind
 * it wait their turn. That is what keeps per-direction ordering (a READ_EXACT re-issued after a
 * short read, or a write re-issued after a partial send, is never overtaken) and what lets a
 * SHUTDOWN run exactly after the writes queued before it. An issued op belongs to the kernel
 * until its completion packet is dequeued (or, with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, until
 * the call returned success at once); it holds a reference on its handle state, so a detached
 * handle's state outlives it. */
#ifndef TIDE_IOCP_H
#define TIDE_IOCP_H

/* winsock2.h must come before windows.h, or windows.h drags in the old winsock.h. */
#include <winsock2.h>
#include <windows.h>
#include <mswsock.h>
#include <ws2tcpip.h>
/* minwindef.h defines `near` and `far` as empty macros (16-bit relics); they would erase
 * identifiers of that name in the core's headers included after this one. */
#undef near
#undef far

#include <stddef.h>
#include <stdint.h>

#include "backends/backend.h"
#include "backends/op_queue.h"
#include "tide/error.h"

_Static_assert(sizeof(((struct tide__backend_op *)0)->overlapped) == sizeof(OVERLAPPED),
               "backend_op.h spells OVERLAPPED's layout");
/* Field by field, so that the check holds on 32-bit Windows too (where hEvent is at 16, not 12). */
_Static_assert(offsetof(struct tide__backend_op, overlapped) == 0, "the OVERLAPPED comes first");
_Static_assert(offsetof(OVERLAPPED, Internal) ==
                   offsetof(struct tide__backend_op, overlapped.internal),
               "OVERLAPPED.Internal");
_Static_assert(offsetof(OVERLAPPED, InternalHigh) ==
                   offsetof(struct tide__backend_op, overlapped.internal_high),
               "OVERLAPPED.InternalHigh");
_Static_assert(offsetof(OVERLAPPED, hEvent) == offsetof(struct tide__backend_op, overlapped.event),
               "OVERLAPPED.hEvent");
_Static_assert(sizeof(((struct tide__backend_op *)0)->recv_flags) == sizeof(DWORD), "DWORD");

/* op->flags bits (backend-private, core/op.h). */
enum {
  TIDE__IOCP_ISSUED = 1u << 0,   /* handed to the kernel; its packet (or inline result) pending */
  TIDE__IOCP_CANCELLED = 1u << 1 /* a cancel was asked: finish with what moved, do not re-issue */
};

typedef struct tide__iocp_handle {
  tide__fd fd;
  uint32_t refs;           /* 1 while attached, plus one per issued op */
  uint8_t attached;        /* cleared by detach; the table no longer finds it */
  uint8_t is_socket;       /* a SOCKET (WSA* calls), else a pipe or other overlapped HANDLE */
  uint8_t is_stream;       /* SOCK_STREAM socket or pipe; datagram sockets are not */
  uint8_t skip_on_success; /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set (see port.c) */
  int family;              /* sockets: AF_INET, AF_INET6 or AF_UNIX (for AcceptEx's socket) */
  int protocol;            /* sockets: the protocol to create accepted sockets with */
  tide__op_queue reads;
  tide__op_queue writes;
  SOCKET accept_socket; /* listeners: the socket the issued AcceptEx fills, or INVALID_SOCKET */
  char *accept_buffer;  /* listeners: AcceptEx's two addresses; allocated with the first accept */
} tide__iocp_handle;

/* Loaded once per backend with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER). */
typedef struct tide__iocp_ext {
  LPFN_ACCEPTEX accept_ex;
  LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs;
  LPFN_CONNECTEX connect_ex;
} tide__iocp_ext;

typedef struct tide__iocp_slot {
  tide__fd fd; /* 0 ... : the key; the slot is free when state is NULL */
  tide__iocp_handle *state;
} tide__iocp_slot;

struct tide__backend {
  tide_loop *loop;
  HANDLE port;
  OVERLAPPED_ENTRY *entries;
  unsigned max_events;
  tide__iocp_slot *slots; /* open-addressing table of attached handles, keyed by fd */
  size_t slot_count;      /* a power of two */
  size_t handle_count;
  tide__iocp_ext ext;
  uint8_t ext_loaded;
  uint32_t pipe_serial; /* makes each tide_pipe_open's pipe name unique (pipe_win32.c) */
};

/* Sizes of AcceptEx's output: each address is followed by 16 bytes the provider wants. */
enum { TIDE__IOCP_ACCEPT_ADDR = sizeof(struct sockaddr_storage) + 16 };

static inline OVERLAPPED *tide__iocp_overlapped(tide__op *op) {
  return (OVERLAPPED *)(void *)&op->backend.overlapped;
}

static inline tide__op *tide__iocp_op_of(OVERLAPPED *ov) {
  return (tide__op *)(void *)((char *)ov - offsetof(tide__op, backend.overlapped));
}

/* What a cancelled op completes with: one that already moved bytes reports them. */
static inline intptr_t tide__iocp_cancelled_result(const tide__op *op) {
  return op->done > 0 ? (intptr_t)op->done : TIDE_ECANCELED;
}

/* ---- port.c ---------------------------------------------------------------------------------- */

/* Looks up an attached handle; NULL if fd is not attached. */
tide__iocp_handle *tide__iocp_find(tide__backend *b, tide__fd fd);

/* ---- ops.c ----------------------------------------------------------------------------------- */

/* The outcome of starting or finishing a step of an op. */
typedef enum tide__iocp_step {
  TIDE__IOCP_PENDING, /* issued: a packet will come */
  TIDE__IOCP_AGAIN,   /* made progress and wants another issue (short read/write) */
  TIDE__IOCP_DONE     /* finished with *result */
} tide__iocp_step;

/* Issues the op at the head of one of h's queues (READ..SHUTDOWN), completing at once what the
 * OS finished at once. */
tide__iocp_step tide__iocp_start(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                 intptr_t *result);

/* Interprets a finished overlapped step: `error` is 0 or the Win32/WSA code, `bytes` the count. */
tide__iocp_step tide__iocp_finish(tide__backend *b, tide__iocp_handle *h, tide__op *op, DWORD error,
                                  DWORD bytes, intptr_t *result);

/* Reads the outcome of an op's finished overlapped call from its OVERLAPPED: 0 or the Win32
 * error code, and the bytes. */
DWORD tide__iocp_status(tide__op *op, DWORD *bytes);

/* After an overlapped call returned: whether it is in flight, done at once, or failed. `ok` is
 * the call's success, `error` its last-error when it failed. */
tide__iocp_step tide__iocp_after_call(tide__backend *b, tide__iocp_handle *h, tide__op *op, int ok,
                                      DWORD error, intptr_t *result);

/* ---- accept_connect.c ------------------------------------------------------------------------ */

tide__iocp_step tide__iocp_start_accept(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                        intptr_t *result);
tide__iocp_step tide__iocp_finish_accept(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                         DWORD error, intptr_t *result);
tide__iocp_step tide__iocp_start_connect(tide__backend *b, tide__iocp_handle *h, tide__op *op,
                                         intptr_t *result);
tide__iocp_step tide__iocp_finish_connect(tide__iocp_handle *h, DWORD error, intptr_t *result);

/* Creates an overlapped, non-inheritable socket. Returns 0 or a TIDE_E* code. */
int tide__iocp_socket(int family, int type, int protocol, SOCKET *out);

/* Frees a listener's accept resources (the socket of an AcceptEx that will not finish). */
void tide__iocp_accept_cleanup(tide__iocp_handle *h);

#endif
