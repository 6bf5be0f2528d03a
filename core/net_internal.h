/* core/net_internal.h — the handles behind tide/net.h, shared by the portable half (core/net.c:
 * operations, backpressure, close) and each platform's half (backends/posix/net_posix.c:
 * creating sockets, options, addresses). Name resolution is portable: core/resolve.c. */
#ifndef TIDE_NET_INTERNAL_H
#define TIDE_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/op.h"
#include "tide/net.h"

typedef enum tide__handle_kind {
  TIDE__HANDLE_TCP,
  TIDE__HANDLE_UNIX,
  TIDE__HANDLE_PIPE, /* a pipe, FIFO, terminal or other wrapped descriptor */
  TIDE__HANDLE_LISTENER,
  TIDE__HANDLE_UDP
} tide__handle_kind;

/* What every handle starts with. Handles come from their loop's handle pool (one slot size for
 * every kind: a stream's, the largest), so steady state allocates nothing. The memory goes back
 * when the handle is closing and its last op has completed (at once on readiness backends, whose
 * detach completes the ops synchronously). Until its user closes it, a handle is on its loop's
 * list of open handles, which tide_loop_close reports and closes. */
typedef struct tide__handle tide__handle;
struct tide__handle {
  tide_loop *loop;
  tide__handle *open_prev; /* the loop's list of handles not yet closed */
  tide__handle *open_next;
  tide__fd fd;
  uint32_t ops; /* submitted, not yet completed */
  uint8_t kind; /* tide__handle_kind */
  uint8_t closing;
  uint8_t child_kind; /* listeners: the kind of the streams they accept (TCP or UNIX) */
};

/* A task waiting in tide_stream_drain (or a task-form write) for the write queue to go below the
 * high-water mark. Lives on that task's stack; linked into its stream until the task resumes. */
typedef struct tide__drain_waiter tide__drain_waiter;
struct tide__drain_waiter {
  tide__drain_waiter *next;
  tide__drain_waiter *prev;
  tide_future *future;
  int stream_closed; /* set by close: the stream is gone, do not touch it */
};

struct tide_stream {
  tide__handle h;
  size_t write_queued; /* bytes of writes submitted and not yet completed */
  size_t high_water;
  tide__drain_waiter *waiters;
};

struct tide_listener {
  tide__handle h;
};

struct tide_udp {
  tide__handle h;
};

/* Creates a stream of `kind` around `fd` and attaches fd to the loop's backend. On failure fd is
 * left to the caller, untouched but for its non-blocking flag. */
int tide__stream_new(tide_loop *loop, tide__fd fd, tide__handle_kind kind, tide_stream **out);

/* Submits the CONNECT op of a fresh socket stream: the future resolves with the stream, or fails
 * after the stream has been closed. */
int tide__stream_connect(tide_stream *s, const struct sockaddr *addr, uint32_t addrlen,
                         tide_future **out);

/* Takes a handle from the loop's pool, attaches fd to the backend and puts the handle on the
 * loop's open list. Returns 0, TIDE_ECLOSED, TIDE_ENOMEM or the attach's error; on failure fd is
 * left to the caller, untouched but for its non-blocking flag. The kind-specific members after
 * the tide__handle are zeroed. */
int tide__handle_open(tide_loop *loop, tide__fd fd, tide__handle_kind kind, tide__handle **out);

/* The size of the loop's handle pool slots (the largest handle), for tide_loop_new. */
size_t tide__handle_size(void);

/* Closes every handle its user left open (tide_loop_close), warning through the loop's log hook
 * with the count of each kind. Returns how many there were. */
size_t tide__handles_close_all(tide_loop *loop);

/* Closes a handle (see tide_stream_close): cancels its ops, closes fd, frees it when it is safe.
 * Returns TIDE_EINVAL if it is already closing. */
int tide__handle_close(tide__handle *h);

/* Submits an op on h; `finish`/`owner` default to the handle's own bookkeeping. */
int tide__handle_submit(tide__handle *h, tide__op_kind kind, void *buf, size_t len, void *addr,
                        uint32_t addrlen, tide_future **out);

/* Inside a task: awaits f, releases it, stores the byte count in *bytes (if not NULL). */
int tide__await_bytes(tide_future *f, size_t *bytes);

/* Inside a task: awaits f, releases it, stores the resolved pointer in *value. */
int tide__await_value(tide_future *f, void **value);

/* The platform's half: closes an OS descriptor (or socket). */
void tide__fd_close(tide__fd fd);

#endif
