/* tests/conformance/pipe_test.c — pipes: round trips across partial writes, end of file, a
 * broken pipe without SIGPIPE, and wrapping descriptors the caller already has. */
#include "net_util.h"

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
  CHECK_EQ(0, plat_sigpipe_pending()); /* nothing left behind for the thread */
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(pipe, write_after_the_reader_closed_gives_epipe_without_sigpipe) {
  plat_sigpipe_default();
  net_run(pipe_epipe_main, NULL, 10);
}

/* Whether this platform has a SIGPIPE to block and leave pending: asked on a throwaway thread, so
 * the test's own thread is untouched until its main task runs. */
static const char *sigpipe_missing;

static void probe_sigpipe(void *arg) {
  (void)arg;
  sigpipe_missing = plat_block_and_raise_sigpipe();
  if (sigpipe_missing == NULL)
    plat_consume_sigpipe();
}

static int pipe_epipe_blocked_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  /* The caller already blocks SIGPIPE and has one pending: tide must not consume it. */
  CHECK(plat_block_and_raise_sigpipe() == NULL);
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_stream_close(r));
  CHECK_RC(TIDE_EPIPE, tide_stream_write(w, "x", 1));
  CHECK_EQ(1, plat_sigpipe_pending());
  plat_consume_sigpipe();
  CHECK_OK(tide_stream_close(w));
  return 0;
}

TIDE_TEST(pipe, a_sigpipe_the_caller_had_pending_is_left_alone) {
  /* Probed in a thread of its own: the probe blocks SIGPIPE and leaves one pending. */
  plat_thread *t = plat_thread_start(probe_sigpipe, NULL);
  plat_thread_join(t);
  if (sigpipe_missing != NULL)
    TIDE_SKIP("%s", sigpipe_missing);
  net_run(pipe_epipe_blocked_main, NULL, 10);
}

static int wrap_fd_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  intptr_t fds[2];
  plat_native_pipe(fds);
  tide_stream *r;
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &r));
  tide_stream *again;
  CHECK_RC(TIDE_EALREADY, tide_stream_open_fd(loop, fds[0], &again));
  CHECK_EQ(3, plat_native_write(fds[1], "abc", 3));
  char buf[8];
  size_t n;
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(3, n);
  plat_native_close(fds[1]);
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  CHECK_OK(tide_stream_close(r)); /* closes fds[0] */
  CHECK_EQ(0, plat_native_is_open(fds[0]));
  /* Errors: a closed descriptor, a regular file. */
  CHECK_RC(TIDE_EBADF, tide_stream_open_fd(loop, fds[0], &r));
  intptr_t file = plat_native_regular_file();
  CHECK_RC(TIDE_ENOTSUP, tide_stream_open_fd(loop, file, &r));
  plat_native_close(file);
  /* Each end of a connected socket pair is a socket stream. */
  intptr_t sv[2];
  plat_native_socket_pair(sv);
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
  const char *why_not = plat_native_descriptors_unsupported();
  if (why_not != NULL)
    TIDE_SKIP("%s", why_not);
  net_run(wrap_fd_main, NULL, 10);
}

/* A pipe that keeps message boundaries, read as a stream: a message longer than the buffer is a
 * short read whose rest comes next (Windows fails such a read with ERROR_MORE_DATA, yet fills the
 * buffer), and an empty message is no end of file (Windows completes the read with 0 bytes). */
static int message_pipe_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  intptr_t fds[2];
  const char *why_not = plat_native_message_pipe(fds);
  if (why_not != NULL)
    NET_SKIP(why_not);
  tide_stream *r;
  CHECK_OK(tide_stream_open_fd(loop, fds[0], &r));
  char buf[16];
  size_t n;
  CHECK_EQ(10, plat_native_write(fds[1], "0123456789", 10));
  CHECK_OK(tide_stream_read(r, buf, 4, &n));
  CHECK_EQ(4, n);
  CHECK(memcmp(buf, "0123", 4) == 0);
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(6, n);
  CHECK(memcmp(buf, "456789", 6) == 0);
  CHECK_EQ(0, plat_native_write(fds[1], "", 0));
  CHECK_EQ(3, plat_native_write(fds[1], "abc", 3));
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(3, n);
  CHECK(memcmp(buf, "abc", 3) == 0);
  /* The same with the read waiting first, so that the message completes it later. */
  tide_future *f;
  CHECK_OK(tide_stream_read_future(r, buf, 4, &f));
  CHECK(!tide_future_done(f));
  CHECK_EQ(8, plat_native_write(fds[1], "ABCDEFGH", 8));
  CHECK_EQ(4, net_await(f));
  CHECK(memcmp(buf, "ABCD", 4) == 0);
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(4, n);
  CHECK(memcmp(buf, "EFGH", 4) == 0);
  plat_native_close(fds[1]);
  CHECK_OK(tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_EQ(0, n); /* the writer closed: end of file */
  CHECK_OK(tide_stream_close(r));
  return 0;
}

TIDE_TEST(pipe, message_pipe_reads_as_a_stream_across_long_and_empty_messages) {
  net_run(message_pipe_main, NULL, 10);
}
