/* tests/conformance/tcp_errors_test.c — TCP failures: the peer resetting a connection while a
 * read or a write is pending, refused connections, accept out of descriptors, and invalid
 * arguments. */
#include "net_util.h"

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
  plat_set_linger_zero(tide_stream_fd(s));
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
  plat_socket refusing = plat_refusing_port(&addr);
  tide_stream *c = (tide_stream *)1;
  CHECK_RC(TIDE_ECONNREFUSED, tide_tcp_connect(loop, (struct sockaddr *)&addr, &c));
  CHECK(c == NULL);
  plat_socket_close(refusing);
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
  tide_stream *c0;
  tide_stream *s0 = net_accept_pair(loop, l, &addr, &c0);

  /* A client whose connection waits in the backlog, then no descriptors left. */
  tide_stream *c1 = net_connect(loop, &addr);
  plat_fd_fill *fill;
  CHECK(plat_exhaust_descriptors(&fill) == NULL);

  /* The accept reports the shortage once, and the waiting client is let go rather than hung. */
  tide_stream *s1 = (tide_stream *)1;
  CHECK_RC(TIDE_EMFILE, tide_listener_accept(l, &s1));
  CHECK(s1 == NULL);
  char buf[8];
  size_t n = 99;
  int err = tide_stream_read(c1, buf, sizeof buf, &n);
  CHECK(err == TIDE_ECONNRESET || (err == 0 && n == 0));

  /* Descriptors come back: the listener serves the next client. */
  plat_restore_descriptors(fill);
  CHECK_OK(tide_stream_close(c1));
  tide_stream *c2;
  tide_stream *s2 = net_accept_pair(loop, l, &addr, &c2);
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

/* Runs an EMFILE test, or skips it where the process cannot be driven out of descriptors (the
 * platform's reason: no RLIMIT_NOFILE on Windows). */
static void run_out_of_descriptors_test(tide_task_fn body, void *arg) {
  plat_fd_fill *probe;
  const char *why_not = plat_exhaust_descriptors(&probe);
  if (why_not != NULL)
    TIDE_SKIP("%s", why_not);
  plat_restore_descriptors(probe);
  net_run(body, arg, 10);
}

TIDE_TEST(tcp, accept_under_emfile_reports_once_and_recovers) {
  run_out_of_descriptors_test(emfile_main, NULL);
}

/* With no client waiting, an accept under EMFILE has nothing to report: it waits for a client like
 * any accept. (io_uring's ACCEPT fails with EMFILE at once even then, since the kernel takes a
 * descriptor number before it looks for a connection; re-issued, every accept would complete with
 * TIDE_EMFILE and a retrying server would spin.) */
static int emfile_idle_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_stream *c0;
  tide_stream *s0 = net_accept_pair(loop, l, &addr, &c0); /* sets up the reserved descriptor */

  /* The accept is posted, then the descriptors run out before the loop next waits. */
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  plat_fd_fill *fill;
  CHECK(plat_exhaust_descriptors(&fill) == NULL);
  CHECK_OK(tide_sleep(loop, 100 * MS));
  int settled = tide_future_done(accepting);
  plat_restore_descriptors(fill);
  if (settled) {
    void *v = NULL;
    int err = tide_future_result(accepting, &v);
    TIDE_TEST_FAIL("the accept settled with nobody connecting: %s", tide_err_name(err));
  }

  /* Descriptors come back and a client arrives: the same accept takes it. */
  tide_stream *c1 = net_connect(loop, &addr);
  void *v = NULL;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s1 = tide_io_stream(v);
  CHECK(s1 != NULL);
  char buf[2];
  size_t n = 0;
  CHECK_OK(tide_stream_write(c1, "ok", 2));
  CHECK_OK(tide_stream_read_exactly(s1, buf, 2, &n));
  CHECK_EQ(2, n);
  CHECK_OK(tide_stream_close(c1));
  CHECK_OK(tide_stream_close(s1));
  CHECK_OK(tide_stream_close(c0));
  CHECK_OK(tide_stream_close(s0));
  CHECK_OK(tide_listener_close(l));
  return 0;
}

TIDE_TEST(tcp, accept_under_emfile_with_no_client_waiting_stays_pending) {
  run_out_of_descriptors_test(emfile_idle_main, NULL);
}

/* The loop has never accepted, so it holds no reserved descriptor, when the process runs out of
 * descriptors. Accepts posted again each time one settles, for `windows` x 10 ms: how many
 * settled (each with TIDE_EMFILE or TIDE_ENFILE). A backend that spins settles one per try. */
static int settled_accepts_out_of_descriptors(tide_loop *loop, tide_listener *l, int windows,
                                              tide_future **accepting) {
  int settled = 0;
  CHECK_OK(tide_listener_accept_future(l, accepting));
  for (int i = 0; i < windows; i++) {
    CHECK_OK(tide_sleep(loop, 10 * MS));
    if (!tide_future_done(*accepting))
      continue;
    settled++;
    int err = tide_future_result(*accepting, NULL);
    if (err != TIDE_EMFILE && err != TIDE_ENFILE)
      TIDE_TEST_FAIL("an accept with no descriptor left settled with %s", tide_err_name(err));
    tide_future_release(*accepting);
    CHECK_OK(tide_listener_accept_future(l, accepting));
  }
  return settled;
}

/* Takes a connection with the accept left pending, closes it and the listener. */
static void accept_after_descriptors_return(tide_loop *loop, tide_listener *l,
                                            const struct sockaddr_storage *addr,
                                            tide_future *accepting) {
  tide_stream *c = net_connect(loop, addr);
  void *v = NULL;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
  CHECK(s != NULL);
  CHECK_OK(tide_stream_close(s));
  CHECK_OK(tide_stream_close(c));
  CHECK_OK(tide_listener_close(l));
}

/* `arg` non-NULL: a client connects first and waits in the backlog, where it can be neither
 * accepted nor shed (no reserve); otherwise nobody connects. Either way at most one accept may
 * settle (reported once), none spins, and the listener serves again once descriptors are back. */
static int emfile_no_reserve_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_stream *waiting = arg != NULL ? net_connect(loop, &addr) : NULL;
  plat_fd_fill *fill;
  CHECK(plat_exhaust_descriptors(&fill) == NULL);
  tide_future *accepting;
  int settled = settled_accepts_out_of_descriptors(loop, l, 20, &accepting);
  plat_restore_descriptors(fill);
  if (settled > 1)
    TIDE_TEST_FAIL("%s, %d accepts settled in 200 ms (at most 1 expected)",
                   waiting != NULL ? "with a client waiting" : "with nobody connecting", settled);
  accept_after_descriptors_return(loop, l, &addr, accepting);
  if (waiting != NULL)
    CHECK_OK(tide_stream_close(waiting));
  return 0;
}

TIDE_TEST(tcp, accept_under_emfile_before_any_accept_reports_at_most_once) {
  run_out_of_descriptors_test(emfile_no_reserve_main, NULL);
}

TIDE_TEST(tcp, accept_under_emfile_without_a_reserve_does_not_spin_on_a_waiting_client) {
  static int with_client = 1;
  run_out_of_descriptors_test(emfile_no_reserve_main, &with_client);
}

/* ---- invalid arguments ----------------------------------------------------------------------- */

static int invalid_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  net_tcp_pair pair;
  net_tcp_pair_open(loop, &pair);
  tide_stream *c = pair.client;
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
  CHECK_RC(TIDE_EINVAL, tide_addr_from_ip("localhost", 80, &pair.addr)); /* numeric only */
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
  net_tcp_pair_close(&pair);
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
