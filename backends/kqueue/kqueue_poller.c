/* backends/kqueue/kqueue_poller.c — the poller interface (backends/posix/poller.h) over kqueue
 * (macOS, FreeBSD, NetBSD, DragonFly; and Linux through libkqueue's emulation, for testing).
 *
 * kqueue's pitfalls, and what this file does about each:
 *  1. Readability and writability are two filters, two registrations and two events per
 *     descriptor. Both are added once, with EV_CLEAR (edge-triggered), and stay for the
 *     descriptor's life; the reactor remembers readiness, so nothing is re-armed per op. The two
 *     events of one descriptor, when they come back side by side, are merged into one.
 *  2. A filter for a direction the descriptor is not open for (the write filter on a pipe's read
 *     end) is refused by some kernels (EINVAL, or EPIPE once the far end has gone) and reported
 *     ready at once by others, where epoll never reports it. So a pipe, FIFO or device gets only
 *     the filters of its access mode (O_RDONLY, O_WRONLY, O_RDWR); sockets get both.
 *  3. Every registration is a change handed to kevent(), a system call of its own unless it is
 *     batched. A socket's adds are queued and ride along with the next wait's kevent call: the
 *     kernel applies changes before it scans, and a filter added with EV_CLEAR reports a
 *     condition that already holds, so nothing that happened in between is lost (and the reactor
 *     tries the syscall at once anyway). Removing a socket whose adds are still queued costs no
 *     system call at all. Other descriptors are registered at once with EV_RECEIPT (one result
 *     per change), so one the kernel cannot watch (some devices) gives TIDE_ENOTSUP from
 *     tide__poller_add, and a half-made registration is rolled back.
 *  4. A change that fails is reported in the event list as an EV_ERROR entry (data = errno), and
 *     on macOS and FreeBSD such an entry makes kevent return at once, without scanning for
 *     events. The event list therefore always has room for every queued change (the queue holds
 *     at most max_events entries), errors are never mistaken for events, and a queued add that
 *     failed becomes an error event for its tag, so the socket's ops retry their syscalls and
 *     meet the error themselves (ENOMEM, being transient, is queued again).
 *  5. kqueue accepts regular files and directories (always "ready"; reads still block on the
 *     disk). They are refused with TIDE_ENOTSUP, as epoll does, so callers route file I/O to the
 *     executor on every system alike.
 *  6. EV_ADD on a descriptor already registered silently updates it, so what is watched is
 *     tracked here (one byte per descriptor) to report TIDE_EALREADY as epoll does.
 *  7. Registrations belong to the descriptor number and close() drops them (epoll watches the
 *     open file description instead). Removing a descriptor that was closed first fails with
 *     EBADF or ENOENT, which is reported and changes nothing here.
 *  8. End of file is a flag (EV_EOF), not a filter: the read filter sets it when the peer shut
 *     its side or a pipe's writer closed, the write filter when nothing more can be sent (the
 *     peer has gone, or a local shutdown). fflags then holds a pending socket error, if any (a
 *     refused connect, a reset). End of file on the read side is reported readable and hung up
 *     (the reactor's read then returns 0 or the error); on the write side, writable and readable
 *     but not hung up, since the read side may still deliver. The syscalls, not the poller, say
 *     what happened.
 *  9. Events carry the reactor's tag in udata. It includes a generation per descriptor, so an
 *     event fetched for a descriptor that was removed (and its number reused) before the event
 *     is handled is dropped by the reactor. Where pointers are narrower than 64 bits, udata
 *     holds the tag's high half and the descriptor (ident) is its low half, which is how the
 *     reactor builds tags (generation << 32 | fd); tide__poller_add checks that.
 * 10. The timeout is a timespec with nanosecond precision, so nothing is rounded down to a coarse
 *     tick (macOS converts it to its own clock's ticks, 41.7 ns on Apple silicon, dropping under
 *     one tick; a wait that ends that early finds its timer not yet due by the loop's clock and
 *     waits again, so no timer fires early); some kernels reject huge tv_sec values (EINVAL), so
 *     it is clamped to a day, after which the loop simply waits again.
 * 11. kevent fails with EINTR when a signal handler runs; the changes have been applied by then
 *     (documented on FreeBSD and macOS) and the wait is a normal, empty return.
 * 12. A kqueue is not inherited by a child of fork() (macOS, the BSDs): a loop is unusable in a
 *     forked child, which must open its own. It is still made close-on-exec, which matters
 *     where it is an ordinary descriptor (libkqueue on Linux, where fork shares it with the child
 *     like an epoll descriptor, with the same caveat).
 * Wake-ups are an EVFILT_USER event registered with EV_CLEAR and fired with NOTE_TRIGGER: any
 * number of wakes between two waits cost one event, and nothing needs draining. (kevent is a
 * plain system call on macOS and the BSDs, so the wake is async-signal-safe there; libkqueue's
 * emulation takes locks and is not.) */
#define _DEFAULT_SOURCE /* S_ISSOCK with glibc under -std=c11 (libkqueue); BSDs ignore it */
#include "backends/posix/poller.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

/* The ident of the wake-up event (EVFILT_USER idents are their own namespace, not descriptors). */
#define WAKE_IDENT 0

/* Waits longer than this are cut into several (pitfall 10). */
#define MAX_WAIT_SECONDS 86400

struct tide__poller {
  int kq;
  int nchanges;   /* queued registrations, applied by the next kevent call */
  int max_events; /* also the capacity of `changes` (pitfall 4) */
  struct kevent *changes;
  struct kevent *raw;
  tide__poll_event *events;
  uint8_t *watched; /* indexed by descriptor: the WATCH_* filters added (pitfall 6) */
  size_t watched_capacity;
};

/* ---- tags in udata (pitfall 9) ------------------------------------------------------------ */

#if UINTPTR_MAX >= UINT64_MAX
static void *udata_of(uint64_t tag) {
  return (void *)(uintptr_t)tag;
}
static uint64_t tag_of(const struct kevent *ev) {
  return (uint64_t)(uintptr_t)ev->udata;
}
static int tag_fits(int fd, uint64_t tag) {
  (void)fd;
  (void)tag;
  return 1;
}
#else
static void *udata_of(uint64_t tag) {
  return (void *)(uintptr_t)(tag >> 32);
}
static uint64_t tag_of(const struct kevent *ev) {
  return (uint64_t)(uintptr_t)ev->udata << 32 | (uint32_t)ev->ident;
}
static int tag_fits(int fd, uint64_t tag) {
  return (uint32_t)tag == (uint32_t)fd;
}
#endif

/* ---- opening and closing ------------------------------------------------------------------ */

int tide__poller_open(unsigned max_events, tide__poller **out) {
  int err = TIDE_ENOMEM;
  tide__poller *p = calloc(1, sizeof *p);
  if (p == NULL)
    return TIDE_ENOMEM;
  p->kq = -1;
  p->max_events = max_events == 0 ? 1 : max_events > INT_MAX ? INT_MAX : (int)max_events;
  p->changes = malloc((size_t)p->max_events * sizeof *p->changes);
  p->raw = malloc((size_t)p->max_events * sizeof *p->raw);
  p->events = malloc((size_t)p->max_events * sizeof *p->events);
  if (p->changes == NULL || p->raw == NULL || p->events == NULL)
    goto fail;
  p->kq = kqueue();
  if (p->kq < 0 || fcntl(p->kq, F_SETFD, FD_CLOEXEC) != 0)
    goto fail_errno;
  struct kevent wake;
  EV_SET(&wake, WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, NULL);
  if (kevent(p->kq, &wake, 1, NULL, 0, NULL) != 0)
    goto fail_errno;
  *out = p;
  return 0;

fail_errno:
  err = tide__err_from_errno(errno);
fail:
  if (p->kq >= 0)
    close(p->kq);
  free(p->events);
  free(p->raw);
  free(p->changes);
  free(p);
  return err;
}

void tide__poller_close(tide__poller *p) {
  close(p->kq);
  free(p->watched);
  free(p->events);
  free(p->raw);
  free(p->changes);
  free(p);
}

/* ---- registrations ------------------------------------------------------------------------ */

enum {
  WATCH_READ = 1u << 0, /* the EVFILT_READ filter is registered (or queued) */
  WATCH_WRITE = 1u << 1
};

static int reserve_watched(tide__poller *p, size_t fd) {
  if (fd < p->watched_capacity)
    return 0;
  size_t capacity = p->watched_capacity ? p->watched_capacity : 64;
  while (capacity <= fd)
    capacity *= 2;
  uint8_t *w = realloc(p->watched, capacity);
  if (w == NULL)
    return TIDE_ENOMEM;
  memset(w + p->watched_capacity, 0, capacity - p->watched_capacity);
  p->watched = w;
  p->watched_capacity = capacity;
  return 0;
}

static unsigned watched_of(const tide__poller *p, int fd) {
  return (size_t)fd < p->watched_capacity ? p->watched[fd] : 0u;
}

/* Fills ch[] with the changes for the filters in `which` and returns their count. The write
 * filter goes first: kqueue does not care, but libkqueue (Linux) loses the read filter's
 * peer-hang-up interest (EPOLLRDHUP) when the write filter is added after it, and then never
 * reports EV_EOF for a half-closed socket. */
static int set_filters(struct kevent ch[2], int fd, unsigned which, unsigned short flags,
                       uint64_t tag) {
  int n = 0;
  if (which & WATCH_WRITE) {
    EV_SET(&ch[n], fd, EVFILT_WRITE, flags, 0, 0, udata_of(tag));
    n++;
  }
  if (which & WATCH_READ) {
    EV_SET(&ch[n], fd, EVFILT_READ, flags, 0, 0, udata_of(tag));
    n++;
  }
  return n;
}

static unsigned failed_change(tide__poller *p, const struct kevent *ev);

/* Applies the queued changes now, each with a receipt so one failure cannot hide another. */
static int flush_changes(tide__poller *p) {
  int n = p->nchanges;
  if (n == 0)
    return 0;
  for (int i = 0; i < n; i++)
    p->changes[i].flags |= EV_RECEIPT;
  int got = kevent(p->kq, p->changes, n, p->raw, n, NULL);
  if (got < 0 && errno != EINTR) {
    for (int i = 0; i < n; i++)
      p->changes[i].flags &= (unsigned short)~EV_RECEIPT;
    return tide__err_from_errno(errno);
  }
  p->nchanges = 0;
  /* Only sockets are queued, and a socket takes both filters, so a failure here is the
   * kernel's (ENOMEM: queued again, as in a wait) or the caller's (closed without removing,
   * EBADF: unwatched). The ops presume readiness at first and find any error in their syscalls. */
  for (int i = 0; i < got; i++) {
    if ((p->raw[i].flags & EV_ERROR) && p->raw[i].data != 0)
      (void)failed_change(p, &p->raw[i]);
  }
  return 0;
}

/* Registers the filters in `which` at once, reporting the kernel's verdict on each; a partial
 * registration is rolled back (pitfall 3). */
static int register_now(tide__poller *p, int fd, unsigned which, uint64_t tag) {
  struct kevent ch[2], res[2], undo[2];
  int n = set_filters(ch, fd, which, EV_ADD | EV_CLEAR | EV_RECEIPT, tag);
  int got = kevent(p->kq, ch, n, res, n, NULL);
  if (got < 0)
    return tide__err_from_errno(errno);
  int failure = 0, nundo = 0;
  for (int i = 0; i < got; i++) {
    int error = (res[i].flags & EV_ERROR) ? (int)res[i].data : 0;
    if (error == 0) {
      EV_SET(&undo[nundo], fd, res[i].filter, EV_DELETE, 0, 0, NULL);
      nundo++;
    } else if (failure == 0) {
      failure = error;
    }
  }
  if (failure == 0 && got == n)
    return 0;
  if (nundo > 0)
    (void)kevent(p->kq, undo, nundo, NULL, 0, NULL);
  if (failure == EINVAL || failure == ENODEV || failure == EPERM || failure == EOPNOTSUPP ||
      failure == ENOTSUP)
    return TIDE_ENOTSUP;
  return failure != 0 ? tide__err_from_errno(failure) : TIDE_EIO;
}

/* The directions fd is open for. A filter for the other one would be refused by some kernels
 * (EINVAL, or EPIPE once the far end is gone) and reported as ready at once by others (a pipe's
 * read end "writable"), where epoll simply never reports it. Sockets are both. */
static int directions_of(int fd, const struct stat *st, unsigned *which) {
  *which = WATCH_READ | WATCH_WRITE;
  if (S_ISSOCK(st->st_mode))
    return 0;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0)
    return tide__err_from_errno(errno);
  if ((flags & O_ACCMODE) == O_RDONLY)
    *which = WATCH_READ;
  else if ((flags & O_ACCMODE) == O_WRONLY)
    *which = WATCH_WRITE;
  return 0;
}

int tide__poller_add(tide__poller *p, int fd, uint64_t tag) {
  if (fd < 0)
    return TIDE_EBADF;
  if (!tag_fits(fd, tag))
    return TIDE_EINVAL;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return tide__err_from_errno(errno);
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
    return TIDE_ENOTSUP;
  if (watched_of(p, fd) != 0)
    return TIDE_EALREADY;
  unsigned which;
  int err = directions_of(fd, &st, &which);
  if (err == 0)
    err = reserve_watched(p, (size_t)fd);
  if (err == 0 && S_ISSOCK(st.st_mode) && p->nchanges + 2 > p->max_events)
    err = flush_changes(p);
  if (err != 0)
    return err;
  /* Sockets always take both filters, so their adds can wait for the next kevent call
   * (pitfall 3); anything else is registered now, so a refusal is reported here. (So is a socket
   * when the queue has no room even after the flush: max_events < 2, or adds queued again.) */
  if (S_ISSOCK(st.st_mode) && p->nchanges + 2 <= p->max_events)
    p->nchanges += set_filters(&p->changes[p->nchanges], fd, which, EV_ADD | EV_CLEAR, tag);
  else if ((err = register_now(p, fd, which, tag)) != 0)
    return err;
  p->watched[fd] = (uint8_t)which;
  return 0;
}

int tide__poller_watch_writes(tide__poller *p, int fd, uint64_t tag) {
  (void)tag;
  /* The write filter went in with the read filter at add (directions_of), and stays: adding it
   * only now would lose, under libkqueue, the read filter's hang-up interest (set_filters).
   * Whether kqueue's write filter, like epoll, raises an event each time a peer consumes what was
   * written has not been measured (no kqueue machine here); if it does, this is where to add the
   * filter lazily on real kqueue. */
  if (fd < 0)
    return TIDE_EBADF;
  return watched_of(p, fd) != 0 ? 0 : TIDE_ENOENT;
}

/* Drops fd's queued adds, if any; returns 1 if there were some (nothing reached the kernel). */
static int unqueue(tide__poller *p, int fd) {
  int kept = 0, dropped = 0;
  for (int i = 0; i < p->nchanges; i++) {
    if (p->changes[i].ident == (uintptr_t)fd)
      dropped = 1;
    else
      p->changes[kept++] = p->changes[i];
  }
  p->nchanges = kept;
  return dropped;
}

int tide__poller_remove(tide__poller *p, int fd) {
  if (fd < 0)
    return TIDE_EBADF;
  unsigned which = watched_of(p, fd);
  if (which == 0)
    return TIDE_ENOENT;
  p->watched[fd] = 0;
  if (unqueue(p, fd))
    return 0;
  struct kevent ch[2], res[2];
  int n = set_filters(ch, fd, which, EV_DELETE | EV_RECEIPT, 0);
  int got = kevent(p->kq, ch, n, res, n, NULL);
  if (got < 0)
    return tide__err_from_errno(errno);
  for (int i = 0; i < got; i++) {
    if ((res[i].flags & EV_ERROR) && res[i].data != 0)
      return tide__err_from_errno((int)res[i].data); /* closed first (pitfall 7) */
  }
  return 0;
}

/* ---- waiting ------------------------------------------------------------------------------ */

static const struct timespec *to_timespec(int64_t timeout_ns, struct timespec *ts) {
  if (timeout_ns < 0)
    return NULL;
  int64_t seconds = timeout_ns / 1000000000;
  if (seconds >= MAX_WAIT_SECONDS) {
    ts->tv_sec = MAX_WAIT_SECONDS;
    ts->tv_nsec = 0;
  } else {
    ts->tv_sec = (time_t)seconds;
    ts->tv_nsec = (long)(timeout_ns % 1000000000);
  }
  return ts;
}

/* What the reactor should retry for one filter's event (pitfall 8). */
static unsigned mask_of(const struct kevent *ev) {
  int eof = (ev->flags & EV_EOF) != 0;
  if (eof && ev->fflags != 0) /* a pending socket error: everything fails from now on */
    return TIDE__POLL_READABLE | TIDE__POLL_WRITABLE | TIDE__POLL_ERROR | TIDE__POLL_HANGUP;
  /* Read-side end of file: the peer's half-close or, for a pipe, a writer gone for good. As with
   * epoll's hang-up, both directions retry; the syscalls tell which it was. */
  if (ev->filter == EVFILT_READ)
    return eof ? TIDE__POLL_READABLE | TIDE__POLL_WRITABLE | TIDE__POLL_ERROR | TIDE__POLL_HANGUP
               : TIDE__POLL_READABLE;
  /* Write-side end of file does not end the read side (a local shutdown(SHUT_WR) raises it
   * too), so it is no hang-up; the read side is retried in case the peer is gone. */
  return eof ? TIDE__POLL_WRITABLE | TIDE__POLL_READABLE | TIDE__POLL_ERROR : TIDE__POLL_WRITABLE;
}

/* A queued add failed (pitfall 4). ENOMEM is queued again; EBADF (closed without being removed)
 * unwatches fd; any other refusal leaves the other filter in place. Each becomes an error event,
 * so the ops on fd retry their syscalls and meet the error there. */
static unsigned failed_change(tide__poller *p, const struct kevent *ev) {
  int fd = (int)ev->ident;
  if (ev->data == ENOMEM && p->nchanges < p->max_events && watched_of(p, fd) != 0) {
    p->changes[p->nchanges] = *ev;
    p->changes[p->nchanges].flags = EV_ADD | EV_CLEAR;
    p->changes[p->nchanges].data = 0;
    p->nchanges++;
  } else if (ev->data == EBADF && (size_t)fd < p->watched_capacity) {
    p->watched[fd] = 0;
  }
  return TIDE__POLL_READABLE | TIDE__POLL_WRITABLE | TIDE__POLL_ERROR | TIDE__POLL_HANGUP;
}

int tide__poller_wait(tide__poller *p, int64_t timeout_ns, tide__poll_event **events) {
  struct timespec ts;
  int nchanges = p->nchanges;
  int n = kevent(p->kq, p->changes, nchanges, p->raw, p->max_events, to_timespec(timeout_ns, &ts));
  if (n < 0) {
    if (errno != EINTR)
      return tide__err_from_errno(errno); /* the changes stay queued: EV_ADD is idempotent */
    p->nchanges = 0;                      /* applied before the signal came (pitfall 11) */
    return 0;
  }
  p->nchanges = 0;
  int out = 0;
  for (int i = 0; i < n; i++) {
    const struct kevent *ev = &p->raw[i];
    if (ev->filter == EVFILT_USER)
      continue; /* a wake-up: EV_CLEAR has already reset it */
    unsigned mask;
    if (ev->flags & EV_ERROR) {
      if (ev->data == 0)
        continue;
      mask = failed_change(p, ev);
    } else {
      mask = mask_of(ev);
    }
    uint64_t tag = tag_of(ev);
    /* The two filters of one descriptor usually come back side by side: one event for both. */
    if (out > 0 && p->events[out - 1].tag == tag) {
      p->events[out - 1].events |= mask;
      continue;
    }
    p->events[out].tag = tag;
    p->events[out].events = mask;
    out++;
  }
  *events = p->events;
  return out;
}

int tide__poller_wake(tide__poller *p) {
  struct kevent trigger;
  EV_SET(&trigger, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, NULL);
  for (;;) {
    if (kevent(p->kq, &trigger, 1, NULL, 0, NULL) == 0)
      return 0;
    if (errno != EINTR)
      return tide__err_from_errno(errno);
  }
}
