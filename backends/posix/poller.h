/* backends/posix/poller.h — the readiness interface epoll and kqueue implement (the shape of
 * Redis's aeApi*), which backends/posix/reactor.c turns into completions.
 *
 * Descriptors are watched edge-triggered for their whole life: the reactor remembers readiness
 * itself and retries a syscall until EAGAIN, so interest never has to be modified between
 * operations (no epoll_ctl per read). Readability is watched from the start, writability from the
 * first write that has to wait (tide__poller_watch_writes): most descriptors never fill their
 * send buffer, and under epoll an AF_UNIX or UDP socket watched for writing reports an edge each
 * time its peer consumes a message or the kernel frees a sent one, an event per write that
 * nobody waits for. */
#ifndef TIDE_POLLER_H
#define TIDE_POLLER_H

#include <stdint.h>

typedef struct tide__poller tide__poller;

enum {
  TIDE__POLL_READABLE = 1u << 0,
  TIDE__POLL_WRITABLE = 1u << 1,
  TIDE__POLL_ERROR = 1u << 2, /* error or hang-up: both directions should retry their syscalls */
  TIDE__POLL_HANGUP = 1u << 3 /* the peer closed its side (or an error or hang-up): end of file
                                 or the error is sticky from now on, so no further read edge
                                 may come (the reactor stops trusting short reads) */
};

typedef struct tide__poll_event {
  uint64_t tag; /* what the reactor passed to tide__poller_add */
  unsigned events;
} tide__poll_event;

/* Creates a poller that returns at most `max_events` events per wait, with its wake-up channel.
 * Returns 0 or a TIDE_E* code. */
int tide__poller_open(unsigned max_events, tide__poller **out);

/* Closes the kernel object and frees the poller. */
void tide__poller_close(tide__poller *poller);

/* Watches fd edge-triggered for readability (and errors and hang-ups); events carry `tag`.
 * Writability is reported once tide__poller_watch_writes has asked for it (kqueue watches it
 * from here on anyway: kqueue_poller.c). Returns 0 or a TIDE_E* code (TIDE_EBADF, TIDE_EALREADY
 * if already watched, TIDE_ENOTSUP for descriptors the kernel cannot poll, such as regular files
 * under epoll). */
int tide__poller_add(tide__poller *poller, int fd, uint64_t tag);

/* Watches the added fd's writability too, edge-triggered, from now on; `tag` is the one it was
 * added with. If fd is writable already, the next wait reports it: an edge cannot be lost
 * between the write that met EAGAIN and this call. Calling it again changes nothing. Returns 0
 * or a TIDE_E* code (TIDE_ENOMEM; TIDE_EBADF or TIDE_ENOENT for a descriptor not added). */
int tide__poller_watch_writes(tide__poller *poller, int fd, uint64_t tag);

/* Stops watching fd. Must be called before fd is closed: epoll watches the open file
 * description, not the number, so a closed-but-duplicated fd would keep reporting. */
int tide__poller_remove(tide__poller *poller, int fd);

/* Waits up to timeout_ns (negative: forever; rounded up) and points *events at an array of the
 * ready events, valid until the next call. Wake-ups are consumed here and not reported. Returns
 * the number of events (0 on timeout, wake or EINTR) or a TIDE_E* code. */
int tide__poller_wait(tide__poller *poller, int64_t timeout_ns, tide__poll_event **events);

/* Makes a current or the next wait return. Any thread; async-signal-safe. */
int tide__poller_wake(tide__poller *poller);

#endif
