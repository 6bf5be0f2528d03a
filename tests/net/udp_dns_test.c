/* tests/net/udp_dns_test.c — UDP sockets, and name resolution (localhost and numeric only). */
#include "net_util.h"

#include "core/net_internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* ---- UDP ------------------------------------------------------------------------------------- */

static tide_udp *udp_on(tide_loop *loop, const char *ip, struct sockaddr_storage *addr) {
  struct sockaddr_storage want;
  CHECK_OK(tide_addr_from_ip(ip, 0, &want));
  tide_udp *u;
  CHECK_OK(tide_udp_bind(loop, (struct sockaddr *)&want, NULL, &u));
  CHECK_OK(tide_udp_address(u, addr));
  return u;
}

static int udp_roundtrip_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage a_addr, b_addr, from;
  tide_udp *a = udp_on(loop, "127.0.0.1", &a_addr);
  tide_udp *b = udp_on(loop, "127.0.0.1", &b_addr);
  char buf[64];
  size_t n;
  /* The receive is pending first, then the datagram arrives. */
  tide_future *rf;
  CHECK_OK(tide_udp_recv_from_future(b, buf, sizeof buf, &from, &rf));
  CHECK(!tide_future_done(rf));
  CHECK_OK(tide_udp_send_to(a, "ping", 4, (struct sockaddr *)&b_addr));
  CHECK_EQ(4, net_await(rf));
  CHECK(memcmp(buf, "ping", 4) == 0);
  CHECK_EQ(tide_addr_port((struct sockaddr *)&a_addr), tide_addr_port((struct sockaddr *)&from));
  /* Reply to the source address; datagram boundaries are kept. */
  CHECK_OK(tide_udp_send_to(b, "pong", 4, (struct sockaddr *)&from));
  CHECK_OK(tide_udp_send_to(b, "", 0, (struct sockaddr *)&from));
  CHECK_OK(tide_udp_recv_from(a, buf, sizeof buf, NULL, &n));
  CHECK_EQ(4, n);
  CHECK_OK(tide_udp_recv_from(a, buf, sizeof buf, NULL, &n));
  CHECK_EQ(0, n); /* an empty datagram is a datagram */
  /* Truncation: a datagram longer than the buffer fills it; the rest is gone. */
  CHECK_OK(tide_udp_send_to(b, "0123456789", 10, (struct sockaddr *)&from));
  CHECK_OK(tide_udp_send_to(b, "next", 4, (struct sockaddr *)&from));
  CHECK_OK(tide_udp_recv_from(a, buf, 3, NULL, &n));
  CHECK_EQ(3, n);
  CHECK_OK(tide_udp_recv_from(a, buf, sizeof buf, NULL, &n));
  CHECK_EQ(4, n);
  CHECK(memcmp(buf, "next", 4) == 0);
  /* Connected: send without a destination. */
  CHECK_OK(tide_udp_connect(a, (struct sockaddr *)&b_addr));
  CHECK_OK(tide_udp_send_to(a, "conn", 4, NULL));
  CHECK_OK(tide_udp_recv_from(b, buf, sizeof buf, &from, &n));
  CHECK_EQ(4, n);
  /* Unconnected with no destination; wrong family. */
  CHECK_RC(TIDE_ENOTCONN, tide_udp_send_to(b, "x", 1, NULL));
  struct sockaddr_storage unix_addr;
  memset(&unix_addr, 0, sizeof unix_addr);
  unix_addr.ss_family = AF_UNIX;
  CHECK_RC(TIDE_EAFNOSUPPORT, tide_udp_send_to(b, "x", 1, (struct sockaddr *)&unix_addr));
  CHECK_RC(TIDE_EINVAL, tide_udp_send_to(b, NULL, 1, (struct sockaddr *)&from));
  CHECK_OK(tide_udp_close(a));
  CHECK_OK(tide_udp_close(b));
  return 0;
}

TIDE_TEST(udp, send_and_receive_with_source_address) {
  net_run(udp_roundtrip_main, NULL, 10);
}

static int udp_close_pending_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_udp *u = udp_on(loop, "127.0.0.1", &addr);
  char buf[8];
  tide_future *rf;
  CHECK_OK(tide_udp_recv_from_future(u, buf, sizeof buf, NULL, &rf));
  CHECK_OK(tide_udp_close(u));
  CHECK_RC(TIDE_ECANCELED, net_result(rf));
  return 0;
}

TIDE_TEST(udp, close_cancels_a_pending_receive) {
  net_run(udp_close_pending_main, NULL, 10);
}

static int udp_broadcast_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_udp *u = udp_on(loop, "127.0.0.1", &addr);
  int on = 0;
  socklen_t len = sizeof on;
  CHECK_OK(tide_udp_set_broadcast(u, 1));
  CHECK_EQ(0, getsockopt((int)u->h.fd, SOL_SOCKET, SO_BROADCAST, &on, &len));
  CHECK_EQ(1, on);
  CHECK_OK(tide_udp_set_broadcast(u, 0));
  CHECK_EQ(0, getsockopt((int)u->h.fd, SOL_SOCKET, SO_BROADCAST, &on, &len));
  CHECK_EQ(0, on);
  CHECK_OK(tide_udp_close(u));
  return 0;
}

TIDE_TEST(udp, broadcast_option) {
  net_run(udp_broadcast_main, NULL, 10);
}

/* Multicast pinned to the loopback interface: joined on 127.0.0.1, sent out of 127.0.0.1. */
static int udp_multicast_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  const char *group = "239.255.42.99";
  struct sockaddr_storage any, member_addr, sender_addr, dest;
  CHECK_OK(tide_addr_from_ip("0.0.0.0", 0, &any)); /* a group's datagrams are addressed to it */
  tide_udp *member;
  CHECK_OK(tide_udp_bind(loop, (struct sockaddr *)&any, NULL, &member));
  CHECK_OK(tide_udp_address(member, &member_addr));
  int err = tide_udp_join_multicast(member, group, "127.0.0.1");
  if (err == TIDE_EUNKNOWN || err == TIDE_EADDRNOTAVAIL) {
    fprintf(stderr, "note: no multicast on loopback here (%s)\n", tide_err_name(err));
    CHECK_OK(tide_udp_close(member));
    return 0;
  }
  CHECK_OK(err);
  tide_udp *sender = udp_on(loop, "127.0.0.1", &sender_addr);
  CHECK_OK(tide_udp_set_multicast_interface(sender, "127.0.0.1"));
  CHECK_OK(tide_udp_set_multicast_loop(sender, 1));
  CHECK_OK(tide_udp_set_multicast_ttl(sender, 0)); /* never leaves the host */
  CHECK_OK(tide_addr_from_ip(group, tide_addr_port((struct sockaddr *)&member_addr), &dest));
  char buf[16];
  size_t n;
  CHECK_OK(tide_udp_send_to(sender, "to the group", 12, (struct sockaddr *)&dest));
  CHECK_OK(tide_udp_recv_from(member, buf, sizeof buf, NULL, &n));
  CHECK_EQ(12, n);
  CHECK(memcmp(buf, "to the group", 12) == 0);
  /* After leaving, the group's datagrams no longer arrive. */
  CHECK_OK(tide_udp_leave_multicast(member, group, "127.0.0.1"));
  CHECK_OK(tide_udp_send_to(sender, "gone", 4, (struct sockaddr *)&dest));
  tide_future *rf;
  CHECK_OK(tide_udp_recv_from_future(member, buf, sizeof buf, NULL, &rf));
  CHECK_OK(tide_sleep(loop, 50 * MS));
  CHECK(!tide_future_done(rf));
  CHECK_OK(tide_future_cancel(rf));
  CHECK_RC(TIDE_ECANCELED, net_await(rf));
  CHECK_RC(TIDE_EINVAL, tide_udp_join_multicast(member, "127.0.0.1", NULL)); /* not a group */
  CHECK_OK(tide_udp_close(sender));
  CHECK_OK(tide_udp_close(member));
  return 0;
}

TIDE_TEST(udp, multicast_join_and_leave_on_loopback) {
  net_run(udp_multicast_main, NULL, 10);
}

/* ---- DNS ------------------------------------------------------------------------------------- */

static int dns_localhost_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct addrinfo *list;
  CHECK_OK(tide_resolve(loop, "localhost", "8080", NULL, &list));
  CHECK(list != NULL);
  int loopback = 0;
  for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
    CHECK_EQ(8080, tide_addr_port(ai->ai_addr));
    char text[64];
    CHECK_OK(tide_addr_format(ai->ai_addr, text, sizeof text));
    loopback += strncmp(text, "127.", 4) == 0 || strncmp(text, "[::1]", 5) == 0;
  }
  CHECK(loopback > 0);
  tide_addrinfo_free(list);
  return 0;
}

TIDE_TEST(dns, resolve_localhost) {
  net_run(dns_localhost_main, NULL, 10);
}

static int dns_numeric_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_future *f;
  int fds = net_count_fds();
  CHECK_OK(tide_resolve_future(loop, "127.0.0.1", "80", NULL, &f));
  CHECK(tide_future_done(f)); /* numeric: no thread, no wait */
  CHECK_EQ(fds, net_count_fds());
  void *v;
  CHECK_OK(tide_future_result(f, &v));
  tide_future_release(f);
  struct addrinfo *list = tide_io_addrinfo(v);
  CHECK(list != NULL && list->ai_family == AF_INET);
  CHECK_EQ(80, tide_addr_port(list->ai_addr));
  tide_addrinfo_free(list);
  CHECK_OK(tide_resolve(loop, "::1", NULL, NULL, &list));
  CHECK(list != NULL && list->ai_family == AF_INET6);
  tide_addrinfo_free(list);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_flags = AI_NUMERICHOST};
  CHECK_RC(TIDE_ENOENT, tide_resolve(loop, "not-a-number", "80", &hints, &list));
  CHECK(list == NULL);
  CHECK_RC(TIDE_EINVAL, tide_resolve_future(loop, NULL, NULL, NULL, &f));
  return 0;
}

TIDE_TEST(dns, numeric_names_resolve_at_once) {
  net_run(dns_numeric_main, NULL, 10);
}

static int dns_cancel_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  int fds = net_count_fds();
  tide_future *f;
  CHECK_OK(tide_resolve_future(loop, "localhost", "http", NULL, &f));
  CHECK_OK(tide_future_cancel(f));
  /* The op settles at once; the worker finishes on its own and frees what it found. */
  CHECK_RC(TIDE_ECANCELED, net_await(f));
  int64_t give_up = net_mono_ns() + 5 * SECOND_NS;
  while (net_count_fds() != fds && net_mono_ns() < give_up)
    CHECK_OK(tide_sleep(loop, 5 * MS));
  CHECK_EQ(fds, net_count_fds());
  return 0;
}

TIDE_TEST(dns, cancelled_lookup_drops_its_result_safely) {
  net_run(dns_cancel_main, NULL, 10);
}

TIDE_TEST(dns, loop_closed_with_a_lookup_in_flight) {
  int before = net_count_fds();
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_future *f;
  CHECK_OK(tide_resolve_future(loop, "localhost", NULL, NULL, &f));
  tide_future_release(f);          /* the op keeps its own reference */
  CHECK_OK(tide_loop_close(loop)); /* frees the loop while the worker may still run */
  int64_t give_up = net_mono_ns() + 5 * SECOND_NS;
  while (net_count_fds() != before && net_mono_ns() < give_up)
    usleep(1000);
  CHECK_EQ(before, net_count_fds());
  net_wait_for_workers();
}

typedef struct name_args {
  struct sockaddr_storage addr;
} name_args;

static int dns_connect_name_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  /* Listening on 127.0.0.1 only: if "localhost" gives ::1 first, that attempt is refused and
   * the next address is tried. */
  net_server srv = {net_listen(loop, "127.0.0.1", &addr), 1};
  CHECK_OK(tide_spawn(loop, net_echo_server, &srv, NULL, NULL));
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)tide_addr_port((struct sockaddr *)&addr));
  tide_stream *c;
  CHECK_OK(tide_tcp_connect_name(loop, "localhost", port, &c));
  CHECK_OK(tide_stream_write(c, "named", 5));
  char buf[5];
  size_t n;
  CHECK_OK(tide_stream_read_exactly(c, buf, 5, &n));
  CHECK_EQ(5, n);
  CHECK_OK(tide_stream_close(c));
  /* A port nobody listens on: every address is refused, the last error is reported. */
  struct sockaddr_storage closed;
  int refusing = net_refusing_port(&closed);
  snprintf(port, sizeof port, "%u", (unsigned)tide_addr_port((struct sockaddr *)&closed));
  CHECK_RC(TIDE_ECONNREFUSED, tide_tcp_connect_name(loop, "127.0.0.1", port, &c));
  CHECK(c == NULL);
  close(refusing);
  return 0;
}

TIDE_TEST(dns, connect_by_name_tries_each_address) {
  net_run(dns_connect_name_main, NULL, 10);
}
