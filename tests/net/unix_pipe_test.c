/* tests/net/unix_pipe_test.c — Unix domain stream sockets and pipes. */
#include "net_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

/* ---- Unix domain sockets --------------------------------------------------------------------- */

typedef struct unix_server {
  tide_listener *l;
} unix_server;

static int unix_echo_once(tide_loop *loop, void *arg, void **result) {
  (void)result;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(arg, &s));
  return net_echo_conn(loop, s, NULL);
}

static void unix_roundtrip(tide_loop *loop, const char *path) {
  tide_listener *l;
  CHECK_OK(tide_unix_listen(loop, path, NULL, &l));
  tide_future *server;
  CHECK_OK(tide_spawn(loop, unix_echo_once, l, NULL, &server));
  tide_stream *c;
  CHECK_OK(tide_unix_connect(loop, path, &c));
  CHECK_OK(tide_stream_write(c, "over unix", 9));
  char buf[9];
  size_t n;
  CHECK_OK(tide_stream_read_exactly(c, buf, 9, &n));
  CHECK_EQ(9, n);
  CHECK(memcmp(buf, "over unix", 9) == 0);
  struct sockaddr_storage peer;
  CHECK_OK(tide_stream_peer_address(c, &peer));
  CHECK_EQ(AF_UNIX, peer.ss_family);
  CHECK_RC(TIDE_ENOTSUP, tide_stream_set_nodelay(c, 1));
  CHECK_OK(tide_stream_shutdown(c));
  CHECK_OK(tide_stream_read(c, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  CHECK_OK(tide_await(server, NULL));
  tide_future_release(server);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(l));
}

static int unix_path_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  char path[64];
  snprintf(path, sizeof path, "/tmp/tide-unix-test-%ld.sock", (long)getpid());
  unlink(path);
  unix_roundtrip(loop, path);
  CHECK_EQ(0, unlink(path));
  return 0;
}

TIDE_TEST(unix, echo_roundtrip_on_a_path) {
  net_run(unix_path_main, NULL, 10);
}

static int unix_abstract_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  char name[64];
  snprintf(name, sizeof name, "@tide-unix-test-%ld", (long)getpid());
  unix_roundtrip(loop, name);
  return 0;
}

TIDE_TEST(unix, echo_roundtrip_on_an_abstract_name) {
  net_run(unix_abstract_main, NULL, 10);
}

static int unix_missing_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *c;
  CHECK_RC(TIDE_ENOENT, tide_unix_connect(loop, "/tmp/tide-no-such-socket-here", &c));
  char long_path[200];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[sizeof long_path - 1] = '\0';
  CHECK_RC(TIDE_EINVAL, tide_unix_connect(loop, long_path, &c));
  return 0;
}

TIDE_TEST(unix, connect_to_a_missing_path_gives_enoent) {
  net_run(unix_missing_main, NULL, 10);
}

/* ---- pipes ----------------------------------------------------------------------------------- */

static int pipe_roundtrip_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  /* More than the pipe holds, written while the reader reads: partial writes in between. */
  enum { SIZE = 1 << 20 };
  unsigned char *data = malloc(SIZE), *back = malloc(SIZE);
  CHECK(data != NULL && back != NULL);
  for (size_t i = 0; i < SIZE; i++)
    data[i] = (unsigned char)(i * 7 + (i >> 11));
  tide_future *wf;
  CHECK_OK(tide_stream_write_future(w, data, SIZE, &wf));
  size_t n;
  CHECK_OK(tide_stream_read_exactly(r, back, SIZE, &n));
  CHECK_EQ(SIZE, n);
  CHECK(memcmp(data, back, SIZE) == 0);
  CHECK_EQ(SIZE, net_await(wf));
  CHECK_OK(tide_stream_close(w));
  CHECK_OK(tide_stream_read(r, back, 16, &n));
  CHECK_EQ(0, n); /* the writer closed: end of file */
  CHECK_OK(tide_stream_close(r));
  free(data);
  free(back);
  return 0;
}

TIDE_TEST(pipe, roundtrip_across_partial_writes) {
  net_run(pipe_roundtrip_main, NULL, 10);
}

static int pipe_epipe_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_stream_close(r));
  /* SIGPIPE's default action would kill this process; the write must report instead. */
  CHECK_RC(TIDE_EPIPE, tide_stream_write(w, "nobody", 6));
  CHECK_RC(TIDE_EPIPE, tide_stream_write(w, "still nobody", 12));
  sigset_t pending;
  CHECK_EQ(0, sigpending(&pending));
  CHECK(!sigismember(&pending, SIGPIPE)); /* nothing left behind for the thread */
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(pipe, write_after_the_reader_closed_gives_epipe_without_sigpipe) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  CHECK_EQ(0, sigaction(SIGPIPE, &dfl, NULL));
  net_run(pipe_epipe_main, NULL, 10);
}

static int pipe_epipe_blocked_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  /* The caller already blocks SIGPIPE and has one pending: tide must not consume it. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  CHECK_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
  CHECK_EQ(0, raise(SIGPIPE));
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_stream_close(r));
  CHECK_RC(TIDE_EPIPE, tide_stream_write(w, "x", 1));
  sigset_t pending;
  CHECK_EQ(0, sigpending(&pending));
  CHECK(sigismember(&pending, SIGPIPE));
  int sig;
  CHECK_EQ(0, sigwait(&set, &sig));
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(pipe, a_sigpipe_the_caller_had_pending_is_left_alone) {
  net_run(pipe_epipe_blocked_main, NULL, 10);
}

static int wrap_fd_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  int fds[2];
  CHECK_EQ(0, pipe2(fds, O_CLOEXEC));
  tide_stream *r;
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &r));
  tide_stream *again;
  CHECK_RC(TIDE_EALREADY, tide_stream_open_fd(loop, fds[0], &again));
  CHECK_EQ(3, write(fds[1], "abc", 3));
  char buf[8];
  size_t n;
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(3, n);
  close(fds[1]);
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  CHECK_OK(tide_stream_close(r)); /* closes fds[0] */
  CHECK_EQ(-1, fcntl(fds[0], F_GETFD));
  /* Errors: a closed descriptor, a regular file. */
  CHECK_RC(TIDE_EBADF, tide_stream_open_fd(loop, fds[0], &r));
  int file = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  CHECK(file >= 0);
  CHECK_RC(TIDE_ENOTSUP, tide_stream_open_fd(loop, file, &r));
  close(file);
  /* A socketpair end is a Unix stream. */
  int sv[2];
  CHECK_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  tide_stream *a, *b;
  CHECK_OK(tide_stream_open_fd(loop, sv[0], &a));
  CHECK_OK(tide_stream_open_fd(loop, sv[1], &b));
  CHECK_OK(tide_stream_write(a, "sp", 2));
  CHECK_OK(tide_stream_read_exactly(b, buf, 2, &n));
  CHECK_EQ(2, n);
  CHECK_OK(tide_stream_shutdown(a)); /* a socket, so shutdown applies */
  CHECK_OK(tide_stream_read(b, buf, 2, &n));
  CHECK_EQ(0, n);
  CHECK_OK(tide_stream_close(a));
  CHECK_OK(tide_stream_close(b));
  return 0;
}

TIDE_TEST(pipe, wrapping_an_existing_descriptor) {
  net_run(wrap_fd_main, NULL, 10);
}
