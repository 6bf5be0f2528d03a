/* tests/conformance/tcp_test.c — TCP streams and listeners over loopback, written as tasks: round
 * trips, many connections, end of file and half-close, options and addresses. */
#include "net_util.h"

#include "core/net_internal.h"

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
  return roundtrip_on(loop, "::1");
}

TIDE_TEST(tcp, echo_roundtrip_ipv6) {
  const char *why_not = plat_ipv6_loopback_unavailable();
  if (why_not != NULL)
    TIDE_SKIP("%s", why_not);
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

/* ---- end of file ----------------------------------------------------------------------------- */

/* Accepts one connection, sends `arg`'s text and closes gracefully. */
typedef struct closer {
  tide_listener *l;
  const char *text;
} closer;

static int accept_send_close(tide_loop *loop, void *arg, void **result) {
  (void)result;
  closer *c = arg;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(c->l, &s));
  CHECK_OK(tide_sleep(loop, 20 * MS)); /* the client's read is pending by now */
  CHECK_OK(tide_stream_write(s, c->text, strlen(c->text)));
  CHECK_OK(tide_stream_close(s));
  return 0;
}

static int eof_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  closer cl = {net_listen(loop, "127.0.0.1", &addr), "last words"};
  tide_future *server;
  CHECK_OK(tide_spawn(loop, accept_send_close, &cl, NULL, &server));
  tide_stream *c = net_connect(loop, &addr);
  char buf[64];
  size_t n, total = 0;
  /* The bytes sent before the close arrive whole, then end of file: a 0-byte read, not an
   * error, and again on every later read. */
  for (;;) {
    CHECK_OK(tide_stream_read(c, buf + total, sizeof buf - total, &n));
    if (n == 0)
      break;
    total += n;
  }
  CHECK_EQ(10, total);
  CHECK(memcmp(buf, "last words", 10) == 0);
  n = 99;
  CHECK_OK(tide_stream_read(c, buf, sizeof buf, &n));
  CHECK_EQ(0, n);
  tide_future *r;
  CHECK_OK(tide_stream_read_future(c, buf, sizeof buf, &r));
  CHECK_EQ(0, net_await(r));
  CHECK_OK(tide_await(server, NULL));
  tide_future_release(server);
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(cl.l));
  return 0;
}

TIDE_TEST(tcp, peer_close_delivers_the_data_then_end_of_file_on_every_read) {
  net_run(eof_main, NULL, 10);
}

/* ---- options, addresses, reuse-port ---------------------------------------------------------- */

static int options_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  net_tcp_pair pair;
  net_tcp_pair_open(loop, &pair);
  tide_stream *c = pair.client, *s = pair.server;
  CHECK_OK(tide_stream_set_nodelay(c, 1));
  CHECK_EQ(1, plat_get_sockopt_int(tide_stream_fd(c), plat_tcp_nodelay_level(),
                                   plat_tcp_nodelay_name()));
  CHECK_OK(tide_stream_set_keepalive(c, 1, 30));
  CHECK(plat_get_sockopt_int(tide_stream_fd(c), SOL_SOCKET, SO_KEEPALIVE) != 0);
  struct sockaddr_storage c_local, c_peer, s_local, s_peer;
  CHECK_OK(tide_stream_local_address(c, &c_local));
  CHECK_OK(tide_stream_peer_address(c, &c_peer));
  CHECK_OK(tide_stream_local_address(s, &s_local));
  CHECK_OK(tide_stream_peer_address(s, &s_peer));
  char a[64], b[64];
  tide_addr_format((struct sockaddr *)&c_peer, a, sizeof a);
  tide_addr_format((struct sockaddr *)&pair.addr, b, sizeof b);
  CHECK_STR(b, a);
  tide_addr_format((struct sockaddr *)&c_local, a, sizeof a);
  tide_addr_format((struct sockaddr *)&s_peer, b, sizeof b);
  CHECK_STR(b, a);
  net_tcp_pair_close(&pair);
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
  const char *missing = plat_reuse_port_unsupported();
  if (missing != NULL) {
    /* Asked for anyway, the option is refused plainly rather than ignored. */
    CHECK_RC(TIDE_ENOTSUP, tide_tcp_listen(loop, (struct sockaddr *)&want, &lo, &a));
    NET_SKIP(missing);
  }
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
