/* tests/net/tcp_test.c — TCP streams and listeners over loopback, written as tasks. */
#include "net_util.h"

#include "core/net_internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* ---- round trips ----------------------------------------------------------------------------- */

static int roundtrip_on(tide_loop *loop, const char *ip) {
  struct sockaddr_storage addr;
  net_server srv = {net_listen(loop, ip, &addr), 1};
  CHECK_OK(tide_spawn(loop, net_echo_server, &srv, NULL, NULL));
  tide_stream *c = net_connect(loop, &addr);
  CHECK_OK(tide_stream_write(c, "hello, tide", 11));
  char buf[11];
  size_t n;
  CHECK_OK(tide_stream_read_exactly(c, buf, sizeof buf, &n));
  CHECK_EQ(11, n);
  CHECK(memcmp(buf, "hello, tide", 11) == 0);
  CHECK_OK(tide_stream_shutdown(c));
  CHECK_OK(tide_stream_read(c, buf, sizeof buf, &n));
  CHECK_EQ(0, n); /* the server saw end of file, closed, and so do we */
  CHECK_OK(tide_stream_close(c));
  return 0;
}

static int echo_roundtrip_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  return roundtrip_on(loop, "127.0.0.1");
}

TIDE_TEST(tcp, echo_roundtrip) {
  net_run(echo_roundtrip_main, NULL, 10);
}

static int echo_roundtrip_ipv6_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage want;
  CHECK_OK(tide_addr_from_ip("::1", 0, &want));
  tide_listener *probe;
  int err = tide_tcp_listen(loop, (struct sockaddr *)&want, NULL, &probe);
  if (err == TIDE_EADDRNOTAVAIL || err == TIDE_EAFNOSUPPORT) {
    fprintf(stderr, "note: no IPv6 loopback here (%s); nothing to test\n", tide_err_name(err));
    return 0;
  }
  CHECK_OK(err);
  CHECK_OK(tide_listener_close(probe));
  return roundtrip_on(loop, "::1");
}

TIDE_TEST(tcp, echo_roundtrip_ipv6) {
  net_run(echo_roundtrip_ipv6_main, NULL, 10);
}

static int writev_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  net_server srv = {net_listen(loop, "127.0.0.1", &addr), 1};
  CHECK_OK(tide_spawn(loop, net_echo_server, &srv, NULL, NULL));
  tide_stream *c = net_connect(loop, &addr);
  tide_iobuf parts[4] = {{"GET ", 4}, {"", 0}, {"/index", 6}, {" HTTP/1.1", 9}};
  CHECK_OK(tide_stream_writev(c, parts, 4));
  char buf[19];
  size_t n;
  CHECK_OK(tide_stream_read_exactly(c, buf, sizeof buf, &n));
  CHECK_EQ(19, n);
  CHECK(memcmp(buf, "GET /index HTTP/1.1", 19) == 0);
  CHECK_OK(tide_stream_close(c));
  return 0;
}

TIDE_TEST(tcp, writev_sends_every_buffer_in_order) {
  net_run(writev_main, NULL, 10);
}

/* ---- many connections ------------------------------------------------------------------------ */

enum { MANY = 200, MANY_ROUNDS = 20 };

static int many_client(tide_loop *loop, void *arg, void **result) {
  (void)result;
  tide_stream *c = net_connect(loop, arg);
  for (int round = 0; round < MANY_ROUNDS; round++) {
    char msg[32], back[32];
    int len = snprintf(msg, sizeof msg, "msg %p %d", (void *)&c, round);
    CHECK_OK(tide_stream_write(c, msg, (size_t)len));
    size_t n;
    CHECK_OK(tide_stream_read_exactly(c, back, (size_t)len, &n));
    CHECK_EQ(len, n);
    CHECK(memcmp(msg, back, (size_t)len) == 0);
  }
  CHECK_OK(tide_stream_close(c));
  return 0;
}

static int many_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listen_options lo;
  tide_listen_options_init(&lo);
  lo.backlog = 1024;
  struct sockaddr_storage want;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &want));
  tide_listener *l;
  CHECK_OK(tide_tcp_listen(loop, (struct sockaddr *)&want, &lo, &l));
  CHECK_OK(tide_listener_address(l, &addr));
  net_server srv = {l, MANY};
  CHECK_OK(tide_spawn(loop, net_echo_server, &srv, NULL, NULL));
  tide_future *clients[MANY];
  for (int i = 0; i < MANY; i++)
    CHECK_OK(tide_spawn(loop, many_client, &addr, NULL, &clients[i]));
  tide_future *all;
  CHECK_OK(tide_gather(loop, clients, MANY, 0, &all));
  CHECK_OK(tide_await(all, NULL));
  tide_future_release(all);
  for (int i = 0; i < MANY; i++) {
    CHECK_OK(tide_future_result(clients[i], NULL));
    tide_future_release(clients[i]);
  }
  return 0;
}

TIDE_TEST(tcp, many_concurrent_connections) {
  net_run(many_main, NULL, 30);
}

/* ---- half-close ------------------------------------------------------------------------------ */

/* Reads everything until end of file, then answers with the byte count, then closes. */
static int count_then_reply(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  tide_listener *l = arg;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(l, &s));
  size_t total = 0, n;
  char buf[4096];
  do {
    CHECK_OK(tide_stream_read(s, buf, sizeof buf, &n));
    total += n;
  } while (n > 0);
  char reply[32];
  int len = snprintf(reply, sizeof reply, "got %zu", total);
  CHECK_OK(tide_stream_write(s, reply, (size_t)len));
  CHECK_OK(tide_stream_close(s));
  return 0;
}

static int half_close_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *server;
  CHECK_OK(tide_spawn(loop, count_then_reply, l, NULL, &server));
  tide_stream *c = net_connect(loop, &addr);
  static char data[100000];
  memset(data, 'x', sizeof data);
  /* The shutdown is queued behind the write: it must not cut it short. */
  tide_future *w, *sd;
  CHECK_OK(tide_stream_write_future(c, data, sizeof data, &w));
  CHECK_OK(tide_stream_shutdown_future(c, &sd));
  CHECK_EQ(sizeof data, net_await(w));
  CHECK_EQ(0, net_await(sd));
  /* Our write side is shut; the peer's is not: its reply still arrives. */
  char buf[32] = {0};
  size_t n;
  CHECK_OK(tide_stream_read_exactly(c, buf, 10, &n));
  CHECK_EQ(10, n);
  CHECK_STR("got 100000", buf);
  CHECK_OK(tide_stream_read(c, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  /* Writing after our own shutdown is refused by the kernel, without SIGPIPE. */
  CHECK_RC(TIDE_EPIPE, tide_stream_write(c, "late", 4));
  CHECK_OK(tide_await(server, NULL));
  tide_future_release(server);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, half_close_delivers_queued_writes_then_end_of_file) {
  net_run(half_close_main, NULL, 10);
}

/* ---- resets, refusals ------------------------------------------------------------------------ */

/* Accepts one connection, waits for `arg_ms` of quiet, then resets it (SO_LINGER 0 + close). */
typedef struct resetter {
  tide_listener *l;
  int64_t delay_ns;
} resetter;

static int accept_then_reset(tide_loop *loop, void *arg, void **result) {
  (void)result;
  resetter *r = arg;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(r->l, &s));
  CHECK_OK(tide_sleep(loop, r->delay_ns));
  struct linger lg = {1, 0};
  CHECK_EQ(0, setsockopt((int)tide_stream_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  CHECK_OK(tide_stream_close(s));
  return 0;
}

static int reset_mid_read_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  resetter r = {net_listen(loop, "127.0.0.1", &addr), 50 * MS};
  CHECK_OK(tide_spawn(loop, accept_then_reset, &r, NULL, NULL));
  tide_stream *c = net_connect(loop, &addr);
  char buf[64];
  size_t n = 99;
  /* The read is pending (nothing sent) when the reset arrives. */
  CHECK_RC(TIDE_ECONNRESET, tide_stream_read(c, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(r.l));
  return 0;
}

TIDE_TEST(tcp, read_pending_when_the_peer_resets_fails_with_econnreset) {
  net_run(reset_mid_read_main, NULL, 10);
}

static int reset_mid_write_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  resetter r = {net_listen(loop, "127.0.0.1", &addr), 50 * MS};
  CHECK_OK(tide_spawn(loop, accept_then_reset, &r, NULL, NULL));
  tide_stream *c = net_connect(loop, &addr);
  /* Far more than the socket buffers hold, so the write is still pending at the reset. */
  size_t big = 64u << 20;
  char *data = calloc(1, big);
  CHECK(data != NULL);
  tide_future *w;
  CHECK_OK(tide_stream_write_future(c, data, big, &w));
  CHECK(tide_stream_write_queue_size(c) == big);
  intptr_t got = net_await(w);
  if (got != TIDE_ECONNRESET && got != TIDE_EPIPE)
    TIDE_TEST_FAIL("a write pending at the peer's reset settled with %lld (%s), expected "
                   "TIDE_ECONNRESET or TIDE_EPIPE",
                   (long long)got, got < 0 ? tide_err_name((int)got) : "bytes");
  CHECK_EQ(0, tide_stream_write_queue_size(c));
  /* And the next write fails at once, again without SIGPIPE. */
  intptr_t again = tide_stream_write(c, "x", 1);
  CHECK(again == TIDE_EPIPE || again == TIDE_ECONNRESET);
  free(data);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(r.l));
  return 0;
}

TIDE_TEST(tcp, write_pending_when_the_peer_resets_fails_without_sigpipe) {
  net_run(reset_mid_write_main, NULL, 20);
}

static int refused_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  int refusing = net_refusing_port(&addr);
  tide_stream *c = (tide_stream *)1;
  CHECK_RC(TIDE_ECONNREFUSED, tide_tcp_connect(loop, (struct sockaddr *)&addr, &c));
  CHECK(c == NULL);
  close(refusing);
  return 0;
}

TIDE_TEST(tcp, connect_to_a_closed_port_is_refused) {
  net_run(refused_main, NULL, 10);
}

/* ---- EMFILE on accept ------------------------------------------------------------------------ */

static int emfile_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  /* A first connection, accepted normally (this also sets up the reserved descriptor). */
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c0 = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s0 = tide_io_stream(v);

  /* A client whose connection waits in the backlog, then no descriptors left. */
  tide_stream *c1 = net_connect(loop, &addr);
  struct rlimit old;
  CHECK_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
  struct rlimit low = old;
  low.rlim_cur = (rlim_t)net_count_fds() + 16;
  CHECK_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
  int fillers[64], nfill = 0;
  for (;;) {
    int fd = dup(0);
    if (fd < 0)
      break;
    CHECK(nfill < 64);
    fillers[nfill++] = fd;
  }
  CHECK_EQ(EMFILE, errno);

  /* The accept reports the shortage once, and the waiting client is let go rather than hung. */
  tide_stream *s1 = (tide_stream *)1;
  CHECK_RC(TIDE_EMFILE, tide_listener_accept(l, &s1));
  CHECK(s1 == NULL);
  char buf[8];
  size_t n = 99;
  int err = tide_stream_read(c1, buf, sizeof buf, &n);
  CHECK(err == TIDE_ECONNRESET || (err == 0 && n == 0));

  /* Descriptors come back: the listener serves the next client. */
  for (int i = 0; i < nfill; i++)
    close(fillers[i]);
  CHECK_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
  CHECK_OK(tide_stream_close(c1));
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c2 = net_connect(loop, &addr);
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s2 = tide_io_stream(v);
  CHECK_OK(tide_stream_write(c2, "ok", 2));
  CHECK_OK(tide_stream_read_exactly(s2, buf, 2, &n));
  CHECK_EQ(2, n);
  CHECK_OK(tide_stream_close(c2));
  CHECK_OK(tide_stream_close(s2));
  CHECK_OK(tide_stream_close(c0));
  CHECK_OK(tide_stream_close(s0));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, accept_under_emfile_reports_once_and_recovers) {
  net_run(emfile_main, NULL, 10);
}

/* ---- close with pending ops, cancellation ---------------------------------------------------- */

static int close_pending_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v); /* never reads: c's write stays pending */
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
  /* Every op settled during close, before the handles' memory went away. */
  CHECK(tide_future_done(r1) && tide_future_done(r2) && tide_future_done(w1) &&
        tide_future_done(w2) && tide_future_done(a));
  CHECK_RC(TIDE_ECANCELED, net_result(r1));
  CHECK_RC(TIDE_ECANCELED, net_result(r2));
  intptr_t sent = net_result(w1); /* partly sent: the count, so nothing is unaccounted for */
  CHECK(sent > 0 && (size_t)sent < big);
  CHECK_RC(TIDE_ECANCELED, net_result(w2));
  CHECK_RC(TIDE_ECANCELED, net_result(a));
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
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
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
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_listener_close(l));
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

/* ---- invalid arguments ----------------------------------------------------------------------- */

static int invalid_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
  tide_future *f = NULL;
  char buf[4];
  size_t n;
  CHECK_RC(TIDE_EINVAL, tide_stream_read_future(NULL, buf, 4, &f));
  CHECK_RC(TIDE_EINVAL, tide_stream_read_future(c, NULL, 4, &f));
  CHECK_RC(TIDE_EINVAL, tide_stream_read_future(c, buf, 4, NULL));
  CHECK_RC(TIDE_EINVAL, tide_stream_write_future(c, NULL, 4, &f));
  CHECK_RC(TIDE_EINVAL, tide_stream_read(NULL, buf, 4, &n));
  CHECK_RC(TIDE_EINVAL, tide_stream_write(c, NULL, 1));
  tide_iobuf bad[1] = {{NULL, 3}};
  CHECK_RC(TIDE_EINVAL, tide_stream_writev(c, bad, 1));
  CHECK_RC(TIDE_EINVAL, tide_listener_accept_future(NULL, &f));
  CHECK(f == NULL);
  /* Wrong address families. */
  struct sockaddr_storage unix_addr;
  memset(&unix_addr, 0, sizeof unix_addr);
  unix_addr.ss_family = AF_UNIX;
  tide_stream *x;
  CHECK_RC(TIDE_EINVAL, tide_tcp_connect(loop, (struct sockaddr *)&unix_addr, &x));
  CHECK_RC(TIDE_EINVAL, tide_tcp_connect(loop, NULL, &x));
  tide_listener *lx;
  CHECK_RC(TIDE_EINVAL, tide_tcp_listen(loop, (struct sockaddr *)&unix_addr, NULL, &lx));
  CHECK_RC(TIDE_EINVAL, tide_addr_from_ip("localhost", 80, &addr)); /* numeric only */
  CHECK_RC(TIDE_EINVAL, tide_unix_listen(loop, "", NULL, &lx));
  /* Options that do not apply. */
  tide_stream *pr, *pw;
  CHECK_OK(tide_pipe_open(loop, &pr, &pw));
  CHECK_RC(TIDE_ENOTSUP, tide_stream_set_nodelay(pr, 1));
  CHECK_RC(TIDE_ENOTSUP, tide_stream_shutdown(pw));
  struct sockaddr_storage name;
  CHECK_RC(TIDE_ENOTSUP, tide_stream_peer_address(pr, &name));
  CHECK_OK(tide_stream_close(pr));
  CHECK_OK(tide_stream_close(pw));
  /* Double close of a handle whose ops still pin it is refused. */
  CHECK_RC(TIDE_EINVAL, tide_stream_close(NULL));
  CHECK_RC(TIDE_EINVAL, tide_listener_close(NULL));
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, invalid_arguments_give_clear_errors) {
  net_run(invalid_main, NULL, 10);
}

TIDE_TEST(tcp, task_forms_outside_a_task_give_einval) {
  int before = net_count_fds();
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  char buf[4];
  size_t n;
  CHECK_RC(TIDE_EINVAL, tide_stream_read(r, buf, sizeof buf, &n));
  CHECK_RC(TIDE_EINVAL, tide_stream_write(w, "x", 1));
  CHECK_RC(TIDE_EINVAL, tide_stream_drain(w));
  struct sockaddr_storage addr;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 9, &addr));
  tide_stream *c;
  CHECK_RC(TIDE_EINVAL, tide_tcp_connect(loop, (struct sockaddr *)&addr, &c));
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_stream_close(w));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(before, net_count_fds());
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
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
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
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_listener_close(l));
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
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
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

/* ---- options, addresses, reuse-port ---------------------------------------------------------- */

static int options_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  tide_stream *c = net_connect(loop, &addr);
  void *v;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
  CHECK_OK(tide_stream_set_nodelay(c, 1));
  int on = 0;
  socklen_t len = sizeof on;
  CHECK_EQ(0, getsockopt((int)tide_stream_fd(c), IPPROTO_TCP, TCP_NODELAY, &on, &len));
  CHECK_EQ(1, on);
  CHECK_OK(tide_stream_set_keepalive(c, 1, 30));
  CHECK_EQ(0, getsockopt((int)tide_stream_fd(c), SOL_SOCKET, SO_KEEPALIVE, &on, &len));
  CHECK_EQ(1, on);
  struct sockaddr_storage c_local, c_peer, s_local, s_peer;
  CHECK_OK(tide_stream_local_address(c, &c_local));
  CHECK_OK(tide_stream_peer_address(c, &c_peer));
  CHECK_OK(tide_stream_local_address(s, &s_local));
  CHECK_OK(tide_stream_peer_address(s, &s_peer));
  char a[64], b[64];
  tide_addr_format((struct sockaddr *)&c_peer, a, sizeof a);
  tide_addr_format((struct sockaddr *)&addr, b, sizeof b);
  CHECK_STR(b, a);
  tide_addr_format((struct sockaddr *)&c_local, a, sizeof a);
  tide_addr_format((struct sockaddr *)&s_peer, b, sizeof b);
  CHECK_STR(b, a);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, nodelay_keepalive_and_addresses) {
  net_run(options_main, NULL, 10);
}

static int reuse_port_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_listen_options lo;
  tide_listen_options_init(&lo);
  lo.reuse_port = 1;
  struct sockaddr_storage want, addr;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &want));
  tide_listener *a, *b;
  CHECK_OK(tide_tcp_listen(loop, (struct sockaddr *)&want, &lo, &a));
  CHECK_OK(tide_listener_address(a, &addr));
  CHECK_OK(tide_tcp_listen(loop, (struct sockaddr *)&addr, &lo, &b)); /* the same port */
  /* Without the option, the port is taken. */
  tide_listener *c;
  CHECK_RC(TIDE_EADDRINUSE, tide_tcp_listen(loop, (struct sockaddr *)&addr, NULL, &c));
  CHECK_OK(tide_listener_close(a));
  CHECK_OK(tide_listener_close(b));
  return 0;
}

TIDE_TEST(tcp, reuse_port_lets_listeners_share_a_port) {
  net_run(reuse_port_main, NULL, 10);
}

TIDE_TEST(tcp, handles_are_small) {
  /* Reported in the notes: what tide holds per idle connection. */
  fprintf(stderr, "tide_stream: %zu bytes (plus the reactor's per-descriptor state)\n",
          sizeof(struct tide_stream));
  CHECK(sizeof(struct tide_stream) <= 64);
}
