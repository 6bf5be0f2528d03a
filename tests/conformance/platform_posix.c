/* tests/conformance/platform_posix.c — platform.h for Linux and the BSDs/macOS. */
#if defined(__linux__)
#define _GNU_SOURCE
#else
#define _DARWIN_C_SOURCE
#define _BSD_SOURCE
#endif
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "harness.h"

int64_t plat_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void plat_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void plat_sleep_us(int us) {
  struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void plat_yield_thread(void) {
  sched_yield();
}

/* ---- threads --------------------------------------------------------------------------------- */

struct plat_thread {
  pthread_t id;
  void (*fn)(void *arg);
  void *arg;
};

static void *thread_main(void *p) {
  plat_thread *t = p;
  t->fn(t->arg);
  return NULL;
}

plat_thread *plat_thread_start(void (*fn)(void *arg), void *arg) {
  plat_thread *t = malloc(sizeof *t);
  CHECK(t != NULL);
  t->fn = fn;
  t->arg = arg;
  int err = pthread_create(&t->id, NULL, thread_main, t);
  if (err != 0)
    TIDE_TEST_FAIL("pthread_create: %s", strerror(err));
  return t;
}

void plat_thread_join(plat_thread *t) {
  CHECK_EQ(0, pthread_join(t->id, NULL));
  free(t);
}

uintptr_t plat_thread_self(void) {
  static _Thread_local char marker; /* one per thread: its address names the thread */
  return (uintptr_t)&marker;
}

/* ---- processes and resources ----------------------------------------------------------------- */

long plat_pid(void) {
  return (long)getpid();
}

int plat_count_handles(void) {
  /* Linux lists the descriptors in /proc/self/fd. Elsewhere no listing can be trusted (FreeBSD's
   * /dev/fd shows only 0-2 without fdescfs), so every descriptor below the limit is probed. */
  DIR *d = opendir("/proc/self/fd");
  if (d != NULL) {
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] != '.')
        n++;
    }
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
  }
  long max = sysconf(_SC_OPEN_MAX);
  if (max <= 0 || max > 65536)
    max = 65536;
  int n = 0;
  for (int fd = 0; fd < max; fd++)
    n += fcntl(fd, F_GETFD) != -1;
  return n;
}

void plat_unix_socket_path(char *buf, size_t size, const char *tag) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0' || strlen(dir) > 40) /* sun_path is ~100 bytes */
    dir = "/tmp";
  snprintf(buf, size, "%s/tide-%s-%ld.sock", dir, tag, plat_pid());
  unlink(buf);
}

int plat_remove_file(const char *path) {
  return unlink(path);
}

const char *plat_unix_sockets_may_be_missing(void) {
  return NULL;
}

const char *plat_abstract_unix_names_unsupported(void) {
#if defined(__linux__)
  return NULL;
#else
  return "abstract Unix socket names (a leading NUL in sun_path) exist only on Linux";
#endif
}

/* ---- descriptor exhaustion ------------------------------------------------------------------- */

struct plat_fd_fill {
  struct rlimit old;
  int fds[64];
  int count;
};

/* valgrind keeps a lowered RLIMIT_NOFILE to itself: it checks each descriptor a system call
 * returns against it, and never lowers the kernel's limit. io_uring's ACCEPT takes its descriptor
 * inside the kernel, under the real limit, so there the process cannot be driven out of them. */
#if defined(TIDE_TEST_BACKEND_IO_URING) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LIMIT_HIDDEN_FROM_KERNEL() (RUNNING_ON_VALGRIND != 0)
#else
#define LIMIT_HIDDEN_FROM_KERNEL() 0
#endif

const char *plat_exhaust_descriptors(plat_fd_fill **out) {
  if (LIMIT_HIDDEN_FROM_KERNEL())
    return "under valgrind a lowered RLIMIT_NOFILE never reaches the kernel, where io_uring's "
           "ACCEPT takes its descriptors";
  plat_fd_fill *f = calloc(1, sizeof *f);
  CHECK(f != NULL);
  CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &f->old));
  struct rlimit low = f->old;
  low.rlim_cur = (rlim_t)plat_count_handles() + 16;
  CHECK_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
  for (;;) {
    int fd = dup(0);
    if (fd < 0)
      break;
    CHECK(f->count < 64);
    f->fds[f->count++] = fd;
  }
  CHECK_EQ(EMFILE, errno);
  *out = f;
  return NULL;
}

void plat_restore_descriptors(plat_fd_fill *f) {
  for (int i = 0; i < f->count; i++)
    close(f->fds[i]);
  CHECK_EQ(0, setrlimit(RLIMIT_NOFILE, &f->old));
  free(f);
}

/* ---- signals --------------------------------------------------------------------------------- */

void plat_sigpipe_default(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  CHECK_EQ(0, sigaction(SIGPIPE, &dfl, NULL));
}

int plat_sigpipe_pending(void) {
  sigset_t pending;
  CHECK_EQ(0, sigpending(&pending));
  return sigismember(&pending, SIGPIPE) == 1;
}

const char *plat_block_and_raise_sigpipe(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  CHECK_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
  CHECK_EQ(0, raise(SIGPIPE));
  return NULL;
}

void plat_consume_sigpipe(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  int sig;
  CHECK_EQ(0, sigwait(&set, &sig));
  CHECK_EQ(SIGPIPE, sig);
}

/* ---- plain blocking sockets ------------------------------------------------------------------ */

plat_socket plat_refusing_port(struct sockaddr_storage *addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, addr));
  CHECK_EQ(0, bind(fd, (struct sockaddr *)addr, sizeof(struct sockaddr_in)));
  socklen_t len = sizeof *addr;
  CHECK_EQ(0, getsockname(fd, (struct sockaddr *)addr, &len));
  return fd;
}

plat_socket plat_tcp_connect_blocking(const struct sockaddr_storage *addr) {
  int fd = socket(addr->ss_family, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
  socklen_t len =
      addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (connect(fd, (const struct sockaddr *)addr, len) != 0)
    TIDE_TEST_FAIL("connect: %s", strerror(errno));
  return fd;
}

void plat_send_all(plat_socket s, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
#if defined(MSG_NOSIGNAL)
    ssize_t k = send((int)s, p, n, MSG_NOSIGNAL);
#else
    ssize_t k = send((int)s, p, n, 0);
#endif
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      TIDE_TEST_FAIL("send: %s", strerror(errno));
    p += k;
    n -= (size_t)k;
  }
}

void plat_socket_close(plat_socket s) {
  CHECK_EQ(0, close((int)s));
}

void plat_set_linger_zero(intptr_t fd) {
  struct linger lg = {1, 0};
  CHECK_EQ(0, setsockopt((int)fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
}

int plat_get_sockopt_int(intptr_t fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  CHECK_EQ(0, getsockopt((int)fd, level, name, &value, &len));
  return value;
}

int plat_tcp_nodelay_level(void) {
  return IPPROTO_TCP;
}

int plat_tcp_nodelay_name(void) {
  return TCP_NODELAY;
}

const char *plat_reuse_port_unsupported(void) {
  return NULL;
}

const char *plat_ipv6_loopback_unavailable(void) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0)
    return "this host has no IPv6 sockets (socket(AF_INET6) failed)";
  struct sockaddr_storage a;
  CHECK_OK(tide_addr_from_ip("::1", 0, &a));
  int err = bind(fd, (struct sockaddr *)&a, sizeof(struct sockaddr_in6));
  close(fd);
  return err == 0 ? NULL : "this host has no IPv6 loopback address (::1 cannot be bound)";
}

/* ---- native descriptors ---------------------------------------------------------------------- */

const char *plat_native_descriptors_unsupported(void) {
  return NULL;
}

static void set_cloexec(int fd) {
  CHECK_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
}

void plat_native_pipe(intptr_t fds[2]) {
  int p[2];
  CHECK_EQ(0, pipe(p));
  set_cloexec(p[0]);
  set_cloexec(p[1]);
  fds[0] = p[0];
  fds[1] = p[1];
}

/* A pipe's ends are both blocking until tide wraps one: the same pipe serves either way. */
void plat_native_pipe_from_tide(intptr_t fds[2]) {
  plat_native_pipe(fds);
}

const char *plat_native_message_pipe(intptr_t fds[2]) {
  (void)fds;
  return "POSIX pipes are byte streams: no message boundaries to keep";
}

void plat_native_socket_pair(intptr_t fds[2]) {
  int sv[2];
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  set_cloexec(sv[0]);
  set_cloexec(sv[1]);
  fds[0] = sv[0];
  fds[1] = sv[1];
}

intptr_t plat_native_regular_file(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/tide-regular-%ld", plat_pid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  set_cloexec(fd);
  CHECK_EQ(0, unlink(path)); /* the open descriptor keeps it alive; nothing is left behind */
  return fd;
}

long plat_native_write(intptr_t fd, const void *buf, size_t n) {
  return (long)write((int)fd, buf, n);
}

long plat_native_read(intptr_t fd, void *buf, size_t n) {
  ssize_t got;
  do
    got = read((int)fd, buf, n);
  while (got < 0 && errno == EINTR);
  return (long)got;
}

void plat_native_close(intptr_t fd) {
  CHECK_EQ(0, close((int)fd));
}

int plat_native_is_open(intptr_t fd) {
  return fcntl((int)fd, F_GETFD) != -1;
}
