/* tests/conformance/udp_test.c — UDP sockets: datagrams with their source address, truncation,
 * connected sockets, close with a receive pending, broadcast and loopback multicast. */
#include "net_util.h"

#include "core/net_internal.h"

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

/* The truncation above meets datagrams already queued; here the receive waits first, so the
 * datagram completes it later (on IOCP: a packet carrying STATUS_BUFFER_OVERFLOW). */
static int udp_truncated_pending_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage a_addr, b_addr, from;
  tide_udp *a = udp_on(loop, "127.0.0.1", &a_addr);
  tide_udp *b = udp_on(loop, "127.0.0.1", &b_addr);
  char buf[16];
  memset(buf, 0, sizeof buf);
  tide_future *rf;
  CHECK_OK(tide_udp_recv_from_future(b, buf, 3, &from, &rf));
  CHECK(!tide_future_done(rf));
  CHECK_OK(tide_udp_send_to(a, "0123456789", 10, (struct sockaddr *)&b_addr));
  CHECK_EQ(3, net_await(rf));
  CHECK(memcmp(buf, "012", 3) == 0 && buf[3] == 0);
  CHECK_EQ(tide_addr_port((struct sockaddr *)&a_addr), tide_addr_port((struct sockaddr *)&from));
  /* The rest of that datagram is gone; the next one arrives whole. */
  size_t n;
  CHECK_OK(tide_udp_send_to(a, "next", 4, (struct sockaddr *)&b_addr));
  CHECK_OK(tide_udp_recv_from(b, buf, sizeof buf, NULL, &n));
  CHECK_EQ(4, n);
  CHECK(memcmp(buf, "next", 4) == 0);
  CHECK_OK(tide_udp_close(a));
  CHECK_OK(tide_udp_close(b));
  return 0;
}

TIDE_TEST(udp, truncated_datagram_completing_a_pending_receive_keeps_its_start) {
  net_run(udp_truncated_pending_main, NULL, 10);
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
  CHECK_RC(TIDE_ECANCELED, net_await(rf)); /* at once, or when the kernel gives the buffer back */
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
  CHECK_OK(tide_udp_set_broadcast(u, 1));
  CHECK(plat_get_sockopt_int((intptr_t)u->h.fd, SOL_SOCKET, SO_BROADCAST) != 0);
  CHECK_OK(tide_udp_set_broadcast(u, 0));
  CHECK_EQ(0, plat_get_sockopt_int((intptr_t)u->h.fd, SOL_SOCKET, SO_BROADCAST));
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
    CHECK_OK(tide_udp_close(member));
    NET_SKIP("this host's loopback interface does not take multicast memberships (joining a "
             "group on 127.0.0.1 fails), so loopback multicast cannot be exercised here");
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
