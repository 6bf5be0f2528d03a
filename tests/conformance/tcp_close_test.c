/* tests/conformance/tcp_close_test.c — closing TCP streams and listeners with operations pending,
 * cancellation that loses no data, zero-length operations, and backpressure on the write queue. */
#include "net_util.h"

/* ---- close with pending ops, cancellation ---------------------------------------------------- */

static int close_pending_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_stream *c;
  tide_stream *s = net_accept_pair(loop, l, &addr, &c); /* never reads: c's write stays pending */
  char rbuf[64];
  size_t big = 32u << 20;
  char *data = calloc(1, big);
  CHECK(data != NULL);
  tide_future *r1, *r2, *w1, *w2, *a;
  CHECK_OK(tide_stream_read_future(c, rbuf, sizeof rbuf, &r1));
  CHECK_OK(tide_stream_read_future(c, rbuf, sizeof rbuf, &r2));
  CHECK_OK(tide_stream_write_future(c, data, big, &w1));
  CHECK_OK(tide_stream_write_future(c, "tail", 4, &w2));
  CHECK_OK(tide_listener_accept_future(l, &a));
  CHECK(!tide_future_done(r1) && !tide_future_done(w1) && !tide_future_done(a));
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(l));
  /* Every op settles: during close on a readiness backend, once the kernel has given the
   * buffers back on a completion backend (which is why buffers stay the caller's until then). */
  CHECK_RC(TIDE_ECANCELED, net_await(r1));
  CHECK_RC(TIDE_ECANCELED, net_await(r2));
  intptr_t sent = net_await(w1); /* partly sent: the count, so nothing is unaccounted for */
  if (!(sent > 0 && (size_t)sent < big))
    TIDE_TEST_FAIL("the cancelled 32 MiB write settled with %lld (%s), expected the count of "
                   "bytes it had sent (the peer never read, so some but not all)",
                   (long long)sent, sent < 0 ? tide_err_name((int)sent) : "bytes");
  CHECK_RC(TIDE_ECANCELED, net_await(w2));
  CHECK_RC(TIDE_ECANCELED, net_await(a));
  free(data);
  CHECK_OK(tide_stream_close(s));
  return 0;
}

TIDE_TEST(tcp, close_with_pending_reads_writes_and_accepts_cancels_them) {
  net_run(close_pending_main, NULL, 10);
}

static int cancel_read_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  net_tcp_pair pair;
  net_tcp_pair_open(loop, &pair);
  tide_stream *c = pair.client, *s = pair.server;
  char buf[16] = {0};
  tide_future *r;
  CHECK_OK(tide_stream_read_future(c, buf, sizeof buf, &r));
  CHECK(!tide_future_done(r));
  /* Data is on its way when the cancel is requested: either the read got it, or it was
   * cancelled without consuming it and the next read gets it. Never lost. */
  CHECK_OK(tide_stream_write(s, "precious", 8));
  CHECK_OK(tide_future_cancel(r));
  intptr_t got = net_await(r);
  if (got == TIDE_ECANCELED) {
    size_t n;
    CHECK_OK(tide_stream_read(c, buf, sizeof buf, &n));
    got = (intptr_t)n;
  }
  CHECK_EQ(8, got);
  CHECK(memcmp(buf, "precious", 8) == 0);
  /* A task cancelled while it awaits a read: the await returns only once the op settled. */
  net_tcp_pair_close(&pair);
  return 0;
}

TIDE_TEST(tcp, cancelled_read_loses_no_data) {
  net_run(cancel_read_main, NULL, 10);
}

static int zero_length_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  net_server srv = {net_listen(loop, "127.0.0.1", &addr), 1};
  CHECK_OK(tide_spawn(loop, net_echo_server, &srv, NULL, NULL));
  tide_stream *c = net_connect(loop, &addr);
  tide_future *f;
  CHECK_OK(tide_stream_read_future(c, NULL, 0, &f));
  CHECK(tide_future_done(f)); /* nothing asked: done at once, and 0 */
  CHECK_EQ(0, net_result(f));
  CHECK_OK(tide_stream_write_future(c, NULL, 0, &f));
  CHECK(tide_future_done(f));
  CHECK_EQ(0, net_result(f));
  CHECK_OK(tide_stream_write(c, "", 0));
  size_t n = 99;
  CHECK_OK(tide_stream_read_exactly(c, NULL, 0, &n));
  CHECK_EQ(0, n);
  tide_iobuf none[2] = {{NULL, 0}, {"", 0}};
  CHECK_OK(tide_stream_writev(c, none, 2));
  CHECK_OK(tide_stream_writev(c, NULL, 0));
  /* The connection still works, with nothing spurious in it. */
  CHECK_OK(tide_stream_write(c, "z", 1));
  char b;
  CHECK_OK(tide_stream_read(c, &b, 1, &n));
  CHECK_EQ(1, n);
  CHECK_EQ('z', b);
  CHECK_OK(tide_stream_close(c));
  return 0;
}

TIDE_TEST(tcp, zero_length_reads_and_writes_complete_at_once) {
  net_run(zero_length_main, NULL, 10);
}

/* ---- backpressure ---------------------------------------------------------------------------- */

typedef struct bp_state {
  tide_stream *c;
  int waiting_write_done;
} bp_state;

static int bp_writer(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  bp_state *st = arg;
  CHECK_OK(tide_stream_write(st->c, "END!", 4)); /* waits for room below the mark first */
  st->waiting_write_done = 1;
  return 0;
}

static int backpressure_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  net_tcp_pair pair;
  net_tcp_pair_open(loop, &pair);
  tide_stream *c = pair.client, *s = pair.server;
  CHECK_OK(tide_stream_set_write_high_water(c, 1024 * 1024));
  /* 16 MiB in futures: far past the socket buffers, so most of it stays queued. */
  enum { CHUNK = 1024 * 1024, CHUNKS = 16 };
  char *data = malloc(CHUNK);
  CHECK(data != NULL);
  memset(data, 'd', CHUNK);
  tide_future *w[CHUNKS];
  for (int i = 0; i < CHUNKS; i++)
    CHECK_OK(tide_stream_write_future(c, data, CHUNK, &w[i]));
  CHECK_OK(tide_sleep(loop, 20 * MS));
  CHECK(tide_stream_write_queue_size(c) > 1024 * 1024);
  bp_state st = {c, 0};
  tide_future *writer;
  CHECK_OK(tide_spawn(loop, bp_writer, &st, NULL, &writer));
  CHECK_OK(tide_sleep(loop, 20 * MS));
  CHECK_EQ(0, st.waiting_write_done); /* above the mark: it waits */
  /* The peer reads everything; the queue drains, the waiting write goes last. */
  size_t total = 0, n;
  char *buf = malloc(65536);
  CHECK(buf != NULL);
  while (total < (size_t)CHUNK * CHUNKS + 4) {
    CHECK_OK(tide_stream_read(s, buf, 65536, &n));
    CHECK(n > 0);
    if (total + n > (size_t)CHUNK * CHUNKS)
      CHECK(memcmp(buf + n - 4, "END!", 4) == 0 || total + n < (size_t)CHUNK * CHUNKS + 4);
    total += n;
  }
  CHECK_EQ((size_t)CHUNK * CHUNKS + 4, total);
  CHECK_OK(tide_await(writer, NULL));
  tide_future_release(writer);
  CHECK_EQ(1, st.waiting_write_done);
  for (int i = 0; i < CHUNKS; i++)
    CHECK_EQ(CHUNK, net_await(w[i]));
  CHECK_EQ(0, tide_stream_write_queue_size(c));
  CHECK_OK(tide_stream_drain(c)); /* nothing queued: returns at once */
  free(buf);
  free(data);
  net_tcp_pair_close(&pair);
  return 0;
}

TIDE_TEST(tcp, write_above_the_high_water_mark_waits_in_a_task) {
  net_run(backpressure_main, NULL, 20);
}

static int drain_close_waiter(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  CHECK_RC(TIDE_ECLOSED, tide_stream_drain(arg));
  return 0;
}

static int drain_close_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_stream *c;
  tide_stream *s = net_accept_pair(loop, l, &addr, &c);
  size_t big = 16u << 20;
  char *data = calloc(1, big);
  CHECK(data != NULL);
  tide_future *w;
  CHECK_OK(tide_stream_write_future(c, data, big, &w));
  tide_future *waiter;
  CHECK_OK(tide_spawn(loop, drain_close_waiter, c, NULL, &waiter));
  CHECK_OK(tide_sleep(loop, 10 * MS));
  CHECK(!tide_future_done(waiter));
  CHECK_OK(tide_stream_close(c)); /* the waiter wakes with TIDE_ECLOSED, touching nothing */
  CHECK_OK(tide_await(waiter, NULL));
  tide_future_release(waiter);
  intptr_t sent = net_await(w);
  CHECK(sent > 0 || sent == TIDE_ECANCELED);
  free(data);
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, close_wakes_tasks_waiting_for_the_write_queue_with_eclosed) {
  net_run(drain_close_main, NULL, 10);
}
