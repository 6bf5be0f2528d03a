/* backends/backend.h — the interface every backend implements (DESIGN.md principles 1-2).
 *
 * The core speaks completions only: it submits operations (core/op.h) and the backend reports
 * each one done, exactly once, through tide__op_complete. Completion backends (IOCP, io_uring)
 * implement this directly over the kernel's queue. Readiness backends (epoll, kqueue) implement
 * the smaller poller interface in backends/posix/poller.h, and the shared reactor in
 * backends/posix/reactor.c turns it into this one.
 *
 * Exactly one backend is compiled into a build, chosen at configure time, so these are plain
 * functions resolved by the linker: no function-pointer table on the hot path.
 *
 * All functions run on the loop thread, except tide__backend_wake. */
#ifndef TIDE_BACKEND_H
#define TIDE_BACKEND_H

#include <stdint.h>

#include "core/op.h"

typedef struct tide__backend tide__backend;

/* Creates the backend for `loop`; `max_events` bounds the events taken per poll.
 * Returns 0 or a TIDE_E* code (TIDE_ENOMEM, TIDE_EMFILE, TIDE_ENOTSUP when the kernel lacks the
 * facility). */
int tide__backend_open(tide_loop *loop, unsigned max_events, tide__backend **out);

/* Frees the backend. Every op must have completed (the loop cancels them first). Descriptors
 * still attached are left open: the backend never closes what it does not own. */
void tide__backend_close(tide__backend *backend);

/* Starts using descriptor `fd` with this backend (puts a socket in non-blocking mode and watches
 * it, associates a handle with the completion port, ...). The caller keeps ownership of fd.
 * Returns 0, TIDE_EINVAL (negative fd), TIDE_EBADF, TIDE_EALREADY (already attached) or
 * TIDE_ENOMEM. */
int tide__backend_attach(tide__backend *backend, tide__fd fd);

/* Stops using `fd`: its pending ops are cancelled (each completes, TIDE_ECANCELED unless it had
 * already moved data, see tide__backend_cancel), it is removed from the kernel's interest set
 * *before* the caller closes it, and events still queued for it are dropped. Returns 0 or
 * TIDE_EBADF (not attached). The cancellations may complete before this returns (readiness
 * backends) or later (IOCP completes cancelled overlapped I/O through the port), so the owner of
 * a handle frees it only once its last op has completed. */
int tide__backend_detach(tide__backend *backend, tide__fd fd);

/* Starts an op on an attached descriptor. It completes later through tide__op_complete, or
 * before this returns when the OS could do it at once. Returns 0, or an error (TIDE_EBADF when
 * the descriptor is not attached) in which case the op has NOT been completed and still belongs
 * to the caller.
 *
 * Every backend implements every kind of core/op.h with the same results, and keeps the
 * per-direction ordering stated there. Kind-specific duties: READ_EXACT and the writes retry
 * partial transfers until done; writes never raise SIGPIPE (or its equivalent); ACCEPT attaches
 * the accepted descriptor before completing with it, and a shortage of descriptors completes
 * one accept with TIDE_EMFILE/TIDE_ENFILE without busy-retrying and without wedging the listener
 * (it serves again once descriptors are free); CONNECT completes when the handshake has finished
 * (0) or failed (TIDE_ECONNREFUSED, ...). */
int tide__backend_submit(tide__backend *backend, tide__op *op);

/* Performs a WRITE or WRITEV op at once, without submitting it, when the backend can finish it
 * now: nothing is queued ahead of it on its descriptor's write side and the transfer need not
 * wait (a readiness backend tries the syscall on a descriptor presumed writable). Returns
 * 1 with the outcome in *result (a byte count or a TIDE_E* code, as a completion would carry):
 * the op was never submitted, nothing completes it, no finish hook runs, and it still belongs to
 * the caller. Returns 0 when the op must be submitted as usual: op->done then holds what a
 * partial transfer already moved, and the submitted op carries on from there, so the
 * direction's order is kept. A backend without a synchronous path (IOCP, whose ops complete
 * through the port) always returns 0. Other kinds always return 0 (reads gain nothing: submit
 * already performs a read at once when the descriptor may be readable, and a task's read usually
 * comes when the last one drained it). */
int tide__backend_try_now(tide__backend *backend, tide__op *op, intptr_t *result);

/* Asks a submitted, not yet completed op to stop. The op still completes exactly once: with
 * TIDE_ECANCELED if nothing was transferred, or with its real result if it raced and finished (a
 * write that already sent bytes completes with that count, so no caller ever loses track of data
 * that left). The completion may come before this returns or from a later poll. */
void tide__backend_cancel(tide__backend *backend, tide__op *op);

/* Cancels every pending op, as tide__backend_cancel does for one (used when the loop closes).
 * Completions may arrive before this returns or from later polls; the loop polls until none is
 * pending. */
void tide__backend_cancel_all(tide__backend *backend);

/* Waits for events for at most `timeout_ns` (negative: no limit; 0: do not block; rounded up to
 * the OS's granularity, never down, so timers never fire early) and completes the ops they
 * finish. A wake from tide__backend_wake ends the wait. Returns the number of OS events handled
 * (>= 0) or a TIDE_E* code if the OS poll failed. EINTR is not a failure: it returns 0. */
int tide__backend_poll(tide__backend *backend, int64_t timeout_ns);

/* Makes a current or the next tide__backend_poll return promptly. Any thread. The loop coalesces
 * calls, so this is not on a per-post path. Returns 0 or a TIDE_E* code. */
int tide__backend_wake(tide__backend *backend);

#endif
