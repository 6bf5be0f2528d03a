/* backends/epoll/epoll_poller.c — the poller interface (backends/posix/poller.h) over Linux epoll.
 *
 * epoll's pitfalls, and what this file does about each:
 *  1. It registers the open file description, not the descriptor number. Closing an fd that was
 *     dup()ed (or inherited by a child) leaves the registration alive and events keep arriving
 *     for a number that may now mean another file. So every fd is removed (EPOLL_CTL_DEL) before
 *     it is closed; the reactor guarantees the order.
 *  2. An event already fetched by epoll_wait can name an fd that was removed (and its number
 *     reused) before the event is handled. Events carry the reactor's tag, which includes a
 *     generation per fd, so the reactor drops stale ones; this file passes tags through untouched.
 *  3. Regular files and directories cannot be polled: EPOLL_CTL_ADD fails with EPERM. That maps
 *     to TIDE_ENOTSUP so the caller can route file I/O elsewhere (the executor).
 *  4. epoll_wait's timeout is in milliseconds: a 100 us timer would wait a whole millisecond.
 *     epoll_pwait2 (Linux 5.11) takes a timespec and is used where the kernel has it; where it
 *     does not (ENOSYS, or a seccomp profile that refuses it with EPERM), the poller falls back
 *     to epoll_wait for good, rounding up: a 0.3 ms wait rounded down to 0 would spin the loop
 *     until the timer is due, and rounding down in general fires timers early.
 *  5. epoll_wait fails with EINTR when a signal handler runs; that is a normal, empty return.
 *  6. Edge-triggered mode reports a transition once: whoever consumes the event must read or write
 *     until EAGAIN or remember that the fd is still ready. The reactor remembers.
 * Wake-ups use an eventfd registered level-triggered, read (reset) when it fires, so any number of
 * wakes between two waits cost one event. */
#define _GNU_SOURCE
#include "backends/posix/poller.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

/* The tag of the wake eventfd; the reactor never uses it (its tags have a 32-bit fd part). */
#define WAKE_TAG UINT64_MAX

struct tide__poller {
  int epfd;
  int wakefd;
  int no_pwait2; /* epoll_pwait2 is missing or refused: epoll_wait with milliseconds */
  unsigned max_events;
  struct epoll_event *raw;
  tide__poll_event *events;
};

int tide__poller_open(unsigned max_events, tide__poller **out) {
  int err = TIDE_ENOMEM;
  tide__poller *p = calloc(1, sizeof *p);
  if (p == NULL)
    return TIDE_ENOMEM;
  p->epfd = p->wakefd = -1;
  p->max_events = max_events ? max_events : 1;
  p->raw = malloc(p->max_events * sizeof *p->raw);
  p->events = malloc(p->max_events * sizeof *p->events);
  if (p->raw == NULL || p->events == NULL)
    goto fail;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0)
    goto fail_errno;
  p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->wakefd < 0)
    goto fail_errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &ev) != 0)
    goto fail_errno;
  *out = p;
  return 0;

fail_errno:
  err = tide__err_from_errno(errno);
fail:
  if (p->wakefd >= 0)
    close(p->wakefd);
  if (p->epfd >= 0)
    close(p->epfd);
  free(p->events);
  free(p->raw);
  free(p);
  return err;
}

void tide__poller_close(tide__poller *p) {
  close(p->wakefd);
  close(p->epfd);
  free(p->events);
  free(p->raw);
  free(p);
}

int tide__poller_add(tide__poller *p, int fd, uint64_t tag) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u64 = tag};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
    return 0;
  if (errno == EPERM)
    return TIDE_ENOTSUP;
  if (errno == EEXIST)
    return TIDE_EALREADY;
  return tide__err_from_errno(errno);
}

int tide__poller_watch_writes(tide__poller *p, int fd, uint64_t tag) {
  /* EPOLL_CTL_MOD polls the file again and queues an event if it is writable now, so the edge
   * the caller's EAGAIN is waiting for cannot have passed unseen. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag};
  if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
    return 0;
  return tide__err_from_errno(errno);
}

int tide__poller_remove(tide__poller *p, int fd) {
  /* A non-NULL event pointer keeps kernels before 2.6.9 happy; it is otherwise ignored. */
  struct epoll_event unused = {0};
  if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, &unused) == 0)
    return 0;
  return tide__err_from_errno(errno);
}

static int timeout_ms(int64_t timeout_ns) {
  if (timeout_ns < 0)
    return -1;
  int64_t ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void drain_wake(tide__poller *p) {
  uint64_t count;
  /* EAGAIN means another drain got there first; nothing else can fail on a valid eventfd. */
  ssize_t n = read(p->wakefd, &count, sizeof count);
  (void)n;
}

/* epoll_wait with a nanosecond timeout (negative: none), through epoll_pwait2 while the kernel
 * takes it. */
static int wait_ns(tide__poller *p, int64_t timeout_ns) {
#if defined(SYS_epoll_pwait2)
  if (!p->no_pwait2) {
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000),
                          .tv_nsec = (long)(timeout_ns % 1000000000)};
    /* The raw call: glibc's wrapper arrived in 2.35, the kernel call in 5.11. */
    int n = (int)syscall(SYS_epoll_pwait2, p->epfd, p->raw, (int)p->max_events,
                         timeout_ns < 0 ? NULL : &ts, NULL, (size_t)0);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM))
      return n;
    p->no_pwait2 = 1;
  }
#endif
  return epoll_wait(p->epfd, p->raw, (int)p->max_events, timeout_ms(timeout_ns));
}

int tide__poller_wait(tide__poller *p, int64_t timeout_ns, tide__poll_event **events) {
  int n = wait_ns(p, timeout_ns);
  if (n < 0)
    return errno == EINTR ? 0 : tide__err_from_errno(errno);
  int out = 0;
  for (int i = 0; i < n; i++) {
    uint32_t e = p->raw[i].events;
    if (p->raw[i].data.u64 == WAKE_TAG) {
      drain_wake(p);
      continue;
    }
    unsigned mask = 0;
    if (e & (EPOLLIN | EPOLLRDHUP))
      mask |= TIDE__POLL_READABLE;
    if (e & EPOLLOUT)
      mask |= TIDE__POLL_WRITABLE;
    if (e & (EPOLLERR | EPOLLHUP))
      mask |= TIDE__POLL_ERROR | TIDE__POLL_READABLE | TIDE__POLL_WRITABLE;
    if (e & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))
      mask |= TIDE__POLL_HANGUP;
    p->events[out].tag = p->raw[i].data.u64;
    p->events[out].events = mask;
    out++;
  }
  *events = p->events;
  return out;
}

int tide__poller_wake(tide__poller *p) {
  uint64_t one = 1;
  for (;;) {
    if (write(p->wakefd, &one, sizeof one) == (ssize_t)sizeof one)
      return 0;
    if (errno == EINTR)
      continue;
    /* EAGAIN: the counter is at its maximum, so a wake is certainly pending. */
    return errno == EAGAIN ? 0 : tide__err_from_errno(errno);
  }
}
