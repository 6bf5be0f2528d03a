/* tests/backend/poller_test.c — the readiness poller of this build (epoll or kqueue), driven
 * directly through backends/posix/poller.h, the contract both implement.
 *
 * Readiness is produced with pipes and socketpairs this file writes to itself. Waits that should
 * time out use short timeouts; waits that should return early use long ones (seconds) and check a
 * generous bound, so a lost event shows as a failure rather than as a hang. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(TIDE_TEST_POLLER_EPOLL)
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "seccomp_util.h"
#endif

#include "backends/posix/poller.h"
#include "harness.h"

#define MS INT64_C(1000000)
#define SECOND_NS INT64_C(1000000000)

/* ---- helpers ---------------------------------------------------------------------------- */

/* The clock the waits are measured on. macOS's CLOCK_MONOTONIC counts whole microseconds (it is
 * derived from the wall clock), too coarse to see that a 1 ns wait lasted at least 1 ns;
 * CLOCK_UPTIME_RAW counts nanoseconds on the clock kevent's timeouts run on. */
static int64_t mono_ns(void) {
  struct timespec ts;
#if defined(__APPLE__)
  clock_gettime(CLOCK_UPTIME_RAW, &ts);
#else
  clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
  return (int64_t)ts.tv_sec * SECOND_NS + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
  struct timespec ts = {(time_t)(ns / SECOND_NS), (long)(ns % SECOND_NS)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Descriptors are probed with fcntl rather than listed from /proc/self/fd, which only Linux
 * has (FreeBSD's /dev/fd shows 0-2 unless fdescfs is mounted). */
enum { MAX_PROBED_FD = 4096 };

static int fd_is_open(int fd) {
  return fcntl(fd, F_GETFD) >= 0;
}

static int count_open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < MAX_PROBED_FD; fd++)
    n += fd_is_open(fd);
  return n;
}

static tide__poller *open_poller(unsigned max_events) {
  tide__poller *p = NULL;
  CHECK_OK(tide__poller_open(max_events, &p));
  CHECK(p != NULL);
  return p;
}

static void set_nonblocking_cloexec(int fd) {
  CHECK_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
  CHECK_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
}

/* pipe2 and SOCK_NONBLOCK are missing on macOS: the flags are set afterwards. */
static void make_pipe(int fds[2]) {
  CHECK_EQ(0, pipe(fds));
  set_nonblocking_cloexec(fds[0]);
  set_nonblocking_cloexec(fds[1]);
}

static void make_socketpair(int sv[2]) {
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  set_nonblocking_cloexec(sv[0]);
  set_nonblocking_cloexec(sv[1]);
}

static void write_byte(int fd, char c) {
  CHECK_EQ(1, write(fd, &c, 1));
}

/* Waits and returns the number of events; *elapsed gets the time the call took. */
static int timed_wait(tide__poller *p, int64_t timeout_ns, tide__poll_event **events,
                      int64_t *elapsed) {
  int64_t t0 = mono_ns();
  int n = tide__poller_wait(p, timeout_ns, events);
  *elapsed = mono_ns() - t0;
  CHECK(n >= 0);
  return n;
}

static void check_no_events(tide__poller *p, int64_t timeout_ns) {
  tide__poll_event *ev = NULL;
  int n = tide__poller_wait(p, timeout_ns, &ev);
  if (n != 0)
    TIDE_TEST_FAIL("expected no event, got %d (first: tag %llx, events %x)", n,
                   n > 0 ? (unsigned long long)ev[0].tag : 0ull, n > 0 ? ev[0].events : 0u);
}

/* Returns the mask reported for `tag` by one wait of up to timeout_ns, or 0 if none was. */
static unsigned wait_for_tag(tide__poller *p, int64_t timeout_ns, uint64_t tag) {
  tide__poll_event *ev = NULL;
  int n = tide__poller_wait(p, timeout_ns, &ev);
  CHECK(n >= 0);
  unsigned mask = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].tag == tag)
      mask |= ev[i].events;
  }
  return mask;
}

/* ---- events --------------------------------------------------------------------------------- */

TIDE_TEST(poller, pipe_write_reports_readable_with_the_tag) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  const uint64_t tag = UINT64_C(0x00000007fffffff3); /* generation 7, fd part arbitrary */
  CHECK_OK(tide__poller_add(p, fds[0], tag));
  check_no_events(p, 0); /* empty pipe: nothing yet */
  write_byte(fds[1], 'x');
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  int n = timed_wait(p, 5 * SECOND_NS, &ev, &elapsed);
  CHECK_EQ(1, n);
  if (ev[0].tag != tag)
    TIDE_TEST_FAIL("tag: expected %llx, got %llx", (unsigned long long)tag,
                   (unsigned long long)ev[0].tag);
  CHECK(ev[0].events & TIDE__POLL_READABLE);
  CHECK(!(ev[0].events & TIDE__POLL_ERROR));
  CHECK(elapsed < 2 * SECOND_NS);
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, tag_is_passed_through_untouched) {
  /* The reactor packs a generation into the high half; every bit must survive. */
  static const uint64_t tags[] = {0, 1, UINT64_C(0xfffffffe00000000), UINT64_C(0x8000000000000001),
                                  UINT64_MAX - 1};
  enum { N = sizeof tags / sizeof tags[0] };
  tide__poller *p = open_poller(16);
  int fds[N][2];
  for (int i = 0; i < N; i++) {
    make_pipe(fds[i]);
    CHECK_OK(tide__poller_add(p, fds[i][0], tags[i]));
    write_byte(fds[i][1], 'a');
  }
  unsigned seen = 0;
  int64_t deadline = mono_ns() + 5 * SECOND_NS;
  while (seen != (1u << N) - 1 && mono_ns() < deadline) {
    tide__poll_event *ev = NULL;
    int n = tide__poller_wait(p, 100 * MS, &ev);
    CHECK(n >= 0);
    for (int k = 0; k < n; k++) {
      int found = -1;
      for (int i = 0; i < N; i++) {
        if (ev[k].tag == tags[i])
          found = i;
      }
      if (found < 0)
        TIDE_TEST_FAIL("event with unknown tag %llx", (unsigned long long)ev[k].tag);
      CHECK(ev[k].events & TIDE__POLL_READABLE);
      seen |= 1u << found;
    }
  }
  CHECK_EQ((1u << N) - 1, seen);
  for (int i = 0; i < N; i++) {
    CHECK_OK(tide__poller_remove(p, fds[i][0]));
    close(fds[i][0]);
    close(fds[i][1]);
  }
  tide__poller_close(p);
}

TIDE_TEST(poller, pipe_write_end_reports_writable_once_writes_are_watched) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[1], 99));
#if defined(TIDE_TEST_POLLER_EPOLL)
  /* Writability is watched only on request (epoll: kqueue watches it from the add). */
  CHECK(!(wait_for_tag(p, 0, 99) & TIDE__POLL_WRITABLE));
#endif
  /* The writable state that holds when writes start to be watched is reported: a writer that
   * met EAGAIN just before cannot miss the edge. */
  CHECK_OK(tide__poller_watch_writes(p, fds[1], 99));
  CHECK_OK(tide__poller_watch_writes(p, fds[1], 99)); /* again: nothing changes */
  unsigned mask = wait_for_tag(p, 5 * SECOND_NS, 99);
  CHECK(mask & TIDE__POLL_WRITABLE);
  CHECK(!(mask & TIDE__POLL_ERROR));
  CHECK_OK(tide__poller_remove(p, fds[1]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, watching_writes_of_a_descriptor_never_added_fails) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  int err = tide__poller_watch_writes(p, fds[1], 7);
  CHECK(err == TIDE_ENOENT || err == TIDE_EBADF);
  close(fds[0]);
  close(fds[1]);
  CHECK(tide__poller_watch_writes(p, -1, 7) != 0);
  tide__poller_close(p);
}

/* What the watch on request is for: an AF_UNIX socket that epoll watched for writing reported an
 * edge every time its peer consumed a message, an event per write that nobody waited for. */
TIDE_TEST(poller, a_writer_not_watching_writes_gets_no_event_when_its_peer_reads) {
#if !defined(TIDE_TEST_POLLER_EPOLL)
  TIDE_SKIP("kqueue watches writes from the add (backends/kqueue/kqueue_poller.c)");
#endif
  tide__poller *p = open_poller(16);
  int sv[2];
  make_socketpair(sv);
  CHECK_OK(tide__poller_add(p, sv[0], 21));
  check_no_events(p, 0);
  for (int i = 0; i < 3; i++) {
    write_byte(sv[0], 'x');
    char c;
    CHECK_EQ(1, read(sv[1], &c, 1));
    check_no_events(p, 0);
  }
  /* Once watched, the same consumption is reported (the reason for not watching before). */
  CHECK_OK(tide__poller_watch_writes(p, sv[0], 21));
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 21) & TIDE__POLL_WRITABLE);
  CHECK_OK(tide__poller_remove(p, sv[0]));
  close(sv[0]);
  close(sv[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, edge_triggered_no_repeat_without_new_data) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 5));
  write_byte(fds[1], 'x');
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 5) & TIDE__POLL_READABLE);
  /* The byte is still unread, but edge-triggered mode reports a transition once. */
  check_no_events(p, 0);
  check_no_events(p, 20 * MS);
  /* New data is a new edge. */
  write_byte(fds[1], 'y');
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 5) & TIDE__POLL_READABLE);
  check_no_events(p, 0);
  char buf[4];
  CHECK_EQ(2, read(fds[0], buf, sizeof buf));
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, removed_fd_reports_nothing) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 1));
  CHECK_OK(tide__poller_remove(p, fds[0]));
  write_byte(fds[1], 'x');
  check_no_events(p, 0);
  check_no_events(p, 20 * MS);
  /* Removing what is not watched is an error, and changes nothing. */
  CHECK(tide__poller_remove(p, fds[0]) < 0);
  /* It can be watched again: the data already there is reported at once. */
  CHECK_OK(tide__poller_add(p, fds[0], 2));
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 2) & TIDE__POLL_READABLE);
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, removed_fd_event_pending_before_removal_is_not_reported) {
  /* An edge that the kernel queued before the removal is dropped with it. */
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 1));
  write_byte(fds[1], 'x');
  CHECK_OK(tide__poller_remove(p, fds[0]));
  check_no_events(p, 0);
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, hangup_reports_readable_and_error) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 3));
  close(fds[1]); /* the reader now sees end of file */
  unsigned mask = wait_for_tag(p, 5 * SECOND_NS, 3);
  CHECK(mask & TIDE__POLL_READABLE);
  CHECK(mask & TIDE__POLL_ERROR);
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  tide__poller_close(p);
}

TIDE_TEST(poller, socket_peer_shutdown_reports_readable) {
  tide__poller *p = open_poller(16);
  int sv[2];
  make_socketpair(sv);
  CHECK_OK(tide__poller_add(p, sv[0], 4));
#if !defined(TIDE_TEST_POLLER_EPOLL)
  /* kqueue watches writes from the add: its initial write edge comes first. */
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 4) & TIDE__POLL_WRITABLE);
#endif
  check_no_events(p, 0);
  CHECK_EQ(0, shutdown(sv[1], SHUT_WR));
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 4) & TIDE__POLL_READABLE);
  CHECK_OK(tide__poller_remove(p, sv[0]));
  close(sv[0]);
  close(sv[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, max_events_bounds_each_wait_and_loses_nothing) {
  enum { N = 7 };
  tide__poller *p = open_poller(2);
  int fds[N][2];
  for (int i = 0; i < N; i++) {
    make_pipe(fds[i]);
    CHECK_OK(tide__poller_add(p, fds[i][0], (uint64_t)(100 + i)));
    write_byte(fds[i][1], 'z');
  }
  unsigned seen = 0;
  int waits = 0;
  while (seen != (1u << N) - 1 && waits < 50) {
    tide__poll_event *ev = NULL;
    int n = tide__poller_wait(p, 100 * MS, &ev);
    waits++;
    CHECK(n >= 0);
    if (n > 2)
      TIDE_TEST_FAIL("wait returned %d events with max_events 2", n);
    for (int k = 0; k < n; k++) {
      int i = (int)(ev[k].tag - 100);
      CHECK(i >= 0 && i < N);
      if (seen & (1u << i))
        TIDE_TEST_FAIL("fd %d reported twice for one edge", i);
      seen |= 1u << i;
    }
  }
  CHECK_EQ((1u << N) - 1, seen);
  for (int i = 0; i < N; i++) {
    CHECK_OK(tide__poller_remove(p, fds[i][0]));
    close(fds[i][0]);
    close(fds[i][1]);
  }
  tide__poller_close(p);
}

/* kqueue queues a socket's registration until the next wait (one system call fewer per socket):
 * these two pin that a removal cancels a queued registration, and that a queue filling up
 * between two waits loses none. */
TIDE_TEST(poller, socket_removed_before_any_wait_reports_nothing) {
  tide__poller *p = open_poller(16);
  int sv[2];
  make_socketpair(sv);
  CHECK_OK(tide__poller_add(p, sv[0], 1));
  CHECK_OK(tide__poller_remove(p, sv[0]));
  write_byte(sv[1], 'x');
  check_no_events(p, 0);
  check_no_events(p, 20 * MS);
  CHECK(tide__poller_remove(p, sv[0]) < 0);
  /* Added again, it reports what is already there. */
  CHECK_OK(tide__poller_add(p, sv[0], 2));
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 2) & TIDE__POLL_READABLE);
  CHECK_OK(tide__poller_remove(p, sv[0]));
  close(sv[0]);
  close(sv[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, many_sockets_added_between_two_waits_are_all_reported) {
  enum { N = 9, MAX_EVENTS = 4 };
  tide__poller *p = open_poller(MAX_EVENTS);
  int sv[N][2];
  for (int i = 0; i < N; i++) {
    make_socketpair(sv[i]);
    CHECK_OK(tide__poller_add(p, sv[i][0], (uint64_t)(200 + i)));
    write_byte(sv[i][1], 'q');
  }
  unsigned readable = 0;
  for (int waits = 0; readable != (1u << N) - 1 && waits < 50; waits++) {
    tide__poll_event *ev = NULL;
    int n = tide__poller_wait(p, 100 * MS, &ev);
    CHECK(n >= 0);
    if (n > MAX_EVENTS)
      TIDE_TEST_FAIL("wait returned %d events with max_events %d", n, (int)MAX_EVENTS);
    for (int k = 0; k < n; k++) {
      int i = (int)(ev[k].tag - 200);
      CHECK(i >= 0 && i < N);
      if (ev[k].events & TIDE__POLL_READABLE)
        readable |= 1u << i;
    }
  }
  if (readable != (1u << N) - 1)
    TIDE_TEST_FAIL("readable sockets: expected mask %x, got %x", (1u << N) - 1, readable);
  for (int i = 0; i < N; i++) {
    CHECK_OK(tide__poller_remove(p, sv[i][0]));
    close(sv[i][0]);
    close(sv[i][1]);
  }
  tide__poller_close(p);
}

/* ---- add errors ----------------------------------------------------------------------------- */

TIDE_TEST(poller, regular_file_gives_enotsup) {
  tide__poller *p = open_poller(16);
  char path[] = "/tmp/tide_poller_test_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  unlink(path);
  CHECK_RC(TIDE_ENOTSUP, tide__poller_add(p, fd, 1));
  close(fd);
  int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(dir >= 0);
  CHECK_RC(TIDE_ENOTSUP, tide__poller_add(p, dir, 2));
  close(dir);
  tide__poller_close(p);
}

TIDE_TEST(poller, add_twice_gives_ealready) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 1));
  CHECK_RC(TIDE_EALREADY, tide__poller_add(p, fds[0], 2));
  /* The first registration (and its tag) stands. */
  write_byte(fds[1], 'x');
  CHECK(wait_for_tag(p, 5 * SECOND_NS, 1) & TIDE__POLL_READABLE);
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

TIDE_TEST(poller, bad_descriptor_gives_ebadf) {
  tide__poller *p = open_poller(16);
  CHECK_RC(TIDE_EBADF, tide__poller_add(p, -1, 1));
  int fds[2];
  make_pipe(fds);
  close(fds[0]);
  close(fds[1]);
  CHECK_RC(TIDE_EBADF, tide__poller_add(p, fds[0], 1)); /* closed just now */
  tide__poller_close(p);
}

/* ---- wake-ups ------------------------------------------------------------------------------- */

typedef struct waker {
  tide__poller *poller;
  int64_t delay_ns;
  int wakes;
  int rc;
} waker;

static void *wake_later(void *arg) {
  waker *w = arg;
  sleep_ns(w->delay_ns);
  w->rc = 0;
  for (int i = 0; i < w->wakes && w->rc == 0; i++)
    w->rc = tide__poller_wake(w->poller);
  return NULL;
}

TIDE_TEST(poller, wake_from_another_thread_ends_a_blocking_wait) {
  tide__poller *p = open_poller(16);
  waker w = {p, 50 * MS, 1, -1};
  pthread_t th;
  CHECK_EQ(0, pthread_create(&th, NULL, wake_later, &w));
  /* Blocks with no limit; SIGALRM turns a lost wake-up into a failure instead of a hang. */
  alarm(20);
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  int n = timed_wait(p, -1, &ev, &elapsed);
  alarm(0);
  CHECK_EQ(0, pthread_join(th, NULL));
  CHECK_OK(w.rc);
  CHECK_EQ(0, n); /* wake-ups are consumed, not reported */
  if (elapsed > 10 * SECOND_NS)
    TIDE_TEST_FAIL("the woken wait took %lld ms", (long long)(elapsed / MS));
  tide__poller_close(p);
}

TIDE_TEST(poller, wake_ends_a_wait_with_a_long_timeout) {
  tide__poller *p = open_poller(16);
  waker w = {p, 30 * MS, 1, -1};
  pthread_t th;
  CHECK_EQ(0, pthread_create(&th, NULL, wake_later, &w));
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  int n = timed_wait(p, 30 * SECOND_NS, &ev, &elapsed);
  CHECK_EQ(0, pthread_join(th, NULL));
  CHECK_OK(w.rc);
  CHECK_EQ(0, n);
  if (elapsed > 10 * SECOND_NS)
    TIDE_TEST_FAIL("the woken wait took %lld ms", (long long)(elapsed / MS));
  tide__poller_close(p);
}

TIDE_TEST(poller, wake_before_wait_is_not_lost) {
  tide__poller *p = open_poller(16);
  CHECK_OK(tide__poller_wake(p));
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  CHECK_EQ(0, timed_wait(p, 30 * SECOND_NS, &ev, &elapsed));
  if (elapsed > 10 * SECOND_NS)
    TIDE_TEST_FAIL("a wake made before the wait was lost: waited %lld ms",
                   (long long)(elapsed / MS));
  tide__poller_close(p);
}

TIDE_TEST(poller, many_wakes_coalesce_into_at_most_one_return) {
  enum { THREADS = 4, WAKES = 2000 };
  tide__poller *p = open_poller(16);
  pthread_t th[THREADS];
  waker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (waker){p, 0, WAKES, -1};
    CHECK_EQ(0, pthread_create(&th[i], NULL, wake_later, &w[i]));
  }
  for (int i = 0; i < THREADS; i++) {
    CHECK_EQ(0, pthread_join(th[i], NULL));
    CHECK_OK(w[i].rc);
  }
  for (int i = 0; i < WAKES; i++)
    CHECK_OK(tide__poller_wake(p));
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  /* The first wait returns at once... */
  CHECK_EQ(0, timed_wait(p, 30 * SECOND_NS, &ev, &elapsed));
  CHECK(elapsed < 10 * SECOND_NS);
  /* ...and has consumed every one of the wakes: the next wait runs its full timeout. */
  CHECK_EQ(0, timed_wait(p, 30 * MS, &ev, &elapsed));
  if (elapsed < 30 * MS)
    TIDE_TEST_FAIL("a leftover wake-up ended the second wait after %lld us",
                   (long long)(elapsed / 1000));
  tide__poller_close(p);
}

TIDE_TEST(poller, wake_does_not_hide_fd_events) {
  tide__poller *p = open_poller(16);
  int fds[2];
  make_pipe(fds);
  CHECK_OK(tide__poller_add(p, fds[0], 77));
  CHECK_OK(tide__poller_wake(p));
  write_byte(fds[1], 'x');
  unsigned mask = 0;
  for (int i = 0; i < 3 && !(mask & TIDE__POLL_READABLE); i++)
    mask |= wait_for_tag(p, 1 * SECOND_NS, 77);
  CHECK(mask & TIDE__POLL_READABLE);
  CHECK_OK(tide__poller_remove(p, fds[0]));
  close(fds[0]);
  close(fds[1]);
  tide__poller_close(p);
}

/* ---- timeouts ------------------------------------------------------------------------------- */

TIDE_TEST(poller, zero_timeout_does_not_block) {
  tide__poller *p = open_poller(16);
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  CHECK_EQ(0, timed_wait(p, 0, &ev, &elapsed));
  CHECK(elapsed < 1 * SECOND_NS);
  tide__poller_close(p);
}

TIDE_TEST(poller, timeout_never_returns_before_the_requested_time) {
  /* Never early: where epoll counts milliseconds (no epoll_pwait2) a timeout in nanoseconds must
   * be rounded up, never down, or timers fire early (and a sub-millisecond timeout rounded to 0
   * spins the loop). */
  static const int64_t timeouts[] = {1,          1000,    999999,     1 * MS,
                                     1 * MS + 1, 1500000, 2 * MS - 1, 3 * MS + 250000};
  tide__poller *p = open_poller(16);
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
    for (int rep = 0; rep < 3; rep++) {
      tide__poll_event *ev = NULL;
      int64_t elapsed;
      CHECK_EQ(0, timed_wait(p, timeouts[i], &ev, &elapsed));
      if (elapsed < timeouts[i])
        TIDE_TEST_FAIL("wait(%lld ns) returned after %lld ns", (long long)timeouts[i],
                       (long long)elapsed);
      CHECK(elapsed < 5 * SECOND_NS);
    }
  }
  tide__poller_close(p);
}

#if defined(TIDE_TEST_POLLER_EPOLL)
/* Whether this kernel has epoll_pwait2 (Linux 5.11): called with a bad descriptor it fails with
 * EBADF, and with ENOSYS where it does not exist. */
static int kernel_has_epoll_pwait2(void) {
  return syscall(SYS_epoll_pwait2, -1, NULL, 1, NULL, NULL, (size_t)0) < 0 && errno != ENOSYS;
}

/* Makes epoll_pwait2 fail with ENOSYS from now on, as on a kernel before 5.11 (permanent for the
 * process: a child's). */
static void refuse_epoll_pwait2(void) {
  if (seccomp_refuse(SYS_epoll_pwait2, SECCOMP_ALWAYS, 0, ENOSYS) != 0)
    _exit(CHILD_NO_SECCOMP);
}
#endif

TIDE_TEST(poller, sub_millisecond_timeout_is_not_rounded_up_to_a_millisecond) {
  /* epoll_pwait2 takes a timespec: a 100 us timer must not wait a whole millisecond. Scheduling
   * may stretch any one wait, so the test asks only that some of twenty come back early: with
   * milliseconds, none can. */
#if !defined(TIDE_TEST_POLLER_EPOLL)
  TIDE_SKIP("checked for epoll only (kqueue's timespec is passed through as is)");
#else
  if (!kernel_has_epoll_pwait2())
    TIDE_SKIP("this kernel has no epoll_pwait2 (Linux 5.11): epoll counts milliseconds");
  tide__poller *p = open_poller(16);
  int under_a_millisecond = 0;
  for (int rep = 0; rep < 20; rep++) {
    tide__poll_event *ev = NULL;
    int64_t elapsed;
    CHECK_EQ(0, timed_wait(p, 100 * 1000, &ev, &elapsed));
    if (elapsed < 100 * 1000)
      TIDE_TEST_FAIL("wait(100 us) returned after %lld ns", (long long)elapsed);
    under_a_millisecond += elapsed < 900 * 1000;
  }
  if (under_a_millisecond == 0)
    TIDE_TEST_FAIL("none of 20 waits of 100 us came back within 900 us: rounded up to 1 ms?");
  tide__poller_close(p);
#endif
}

TIDE_TEST(poller, without_epoll_pwait2_a_one_nanosecond_timeout_waits_a_whole_millisecond) {
  /* On kernels without epoll_pwait2 the poller falls back to epoll_wait, whose granularity is
   * 1 ms: wait(1 ns) must become epoll_wait(1), not epoll_wait(0), which would return in
   * microseconds and make the loop busy-poll until a timer is due. The old kernel is played by a
   * seccomp filter in a child process. */
#if !defined(TIDE_TEST_POLLER_EPOLL)
  TIDE_SKIP("epoll only: kqueue takes nanoseconds, so a 1 ns wait may rightly be that short");
#else
  fflush(NULL);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    refuse_epoll_pwait2();
    tide__poller *p = open_poller(16);
    for (int rep = 0; rep < 3; rep++) {
      tide__poll_event *ev = NULL;
      int64_t elapsed;
      CHECK_EQ(0, timed_wait(p, 1, &ev, &elapsed));
      if (elapsed < 1 * MS)
        TIDE_TEST_FAIL("wait(1 ns) returned after %lld ns: rounded down to a 0 ms epoll_wait",
                       (long long)elapsed);
    }
    tide__poller_close(p);
    exit(0);
  }
  int status = 0;
  CHECK_EQ(child, waitpid(child, &status, 0));
  CHECK(WIFEXITED(status));
  if (WEXITSTATUS(status) == CHILD_NO_SECCOMP)
    TIDE_SKIP("seccomp filters are not available here");
  CHECK_EQ(0, WEXITSTATUS(status));
#endif
}

TIDE_TEST(poller, huge_timeout_is_not_an_error) {
  /* INT64_MAX ns does not fit epoll's int milliseconds; it must clamp, not wrap negative (an
   * infinite wait) or to a small value. A wake ends it. */
  tide__poller *p = open_poller(16);
  CHECK_OK(tide__poller_wake(p));
  tide__poll_event *ev = NULL;
  int64_t elapsed;
  alarm(20);
  CHECK_EQ(0, timed_wait(p, INT64_MAX, &ev, &elapsed));
  alarm(0);
  CHECK(elapsed < 10 * SECOND_NS);
  tide__poller_close(p);
}

/* ---- resources ---------------------------------------------------------------------------- */

TIDE_TEST(poller, open_close_leaks_no_descriptor) {
  int before = count_open_fds();
  for (int i = 0; i < 20; i++) {
    tide__poller *p = open_poller(i == 0 ? 0 : (unsigned)i * 10);
    CHECK_OK(tide__poller_wake(p));
    tide__poller_close(p);
  }
  CHECK_EQ(before, count_open_fds());
}

TIDE_TEST(poller, descriptors_are_close_on_exec) {
  /* Whatever the poller opens (epoll and its eventfd; a kqueue, or libkqueue's helpers) must not
   * leak into children the program spawns. */
  static uint8_t was_open[MAX_PROBED_FD];
  for (int fd = 0; fd < MAX_PROBED_FD; fd++)
    was_open[fd] = (uint8_t)fd_is_open(fd);
  tide__poller *p = open_poller(4);
  int checked = 0;
  for (int fd = 0; fd < MAX_PROBED_FD; fd++) {
    if (was_open[fd] || !fd_is_open(fd))
      continue;
    if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
      TIDE_TEST_FAIL("fd %d, opened by the poller, lacks FD_CLOEXEC", fd);
    checked++;
  }
  CHECK(checked >= 1);
  tide__poller_close(p);
}
