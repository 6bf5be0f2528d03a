/* tests/conformance/unix_test.c — Unix domain stream sockets: round trips on a path and on a
 * Linux abstract name, and connecting where nobody listens. */
#include "net_util.h"

/* ---- Unix domain sockets --------------------------------------------------------------------- */

/* Where Unix domain sockets may legitimately be missing (Windows before 10 1803, or a wine that
 * lacks them), tide reports TIDE_ENOTSUP and the test is skipped with the platform's reason;
 * anywhere else TIDE_ENOTSUP is a failure like any other error. */
static int unix_supported(int err) {
  const char *why = plat_unix_sockets_may_be_missing();
  if (err == TIDE_ENOTSUP && why != NULL) {
    net_skip_reason = why;
    return 0;
  }
  return 1;
}

static int unix_echo_once(tide_loop *loop, void *arg, void **result) {
  (void)result;
  tide_stream *s;
  CHECK_OK(tide_listener_accept(arg, &s));
  return net_echo_conn(loop, s, NULL);
}

static void unix_roundtrip(tide_loop *loop, const char *path) {
  tide_listener *l;
  int err = tide_unix_listen(loop, path, NULL, &l);
  if (!unix_supported(err))
    return;
  CHECK_OK(err);
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
  char path[160];
  plat_unix_socket_path(path, sizeof path, "unix-test");
  unix_roundtrip(loop, path);
  if (net_skip_reason == NULL)
    CHECK_EQ(0, plat_remove_file(path));
  return 0;
}

TIDE_TEST(unix, echo_roundtrip_on_a_path) {
  net_run(unix_path_main, NULL, 10);
}

static int unix_abstract_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  char name[64];
  snprintf(name, sizeof name, "@tide-unix-test-%ld", plat_pid());
  unix_roundtrip(loop, name);
  return 0;
}

TIDE_TEST(unix, echo_roundtrip_on_an_abstract_name) {
  const char *why_not = plat_abstract_unix_names_unsupported();
  if (why_not != NULL)
    TIDE_SKIP("%s", why_not);
  net_run(unix_abstract_main, NULL, 10);
}

static int unix_missing_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  tide_stream *c;
  char path[160];
  plat_unix_socket_path(path, sizeof path, "no-such-socket"); /* and makes sure it is gone */
  int err = tide_unix_connect(loop, path, &c);
  if (!unix_supported(err))
    return 0;
  CHECK_RC(TIDE_ENOENT, err);
  char long_path[200];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[sizeof long_path - 1] = '\0';
  CHECK_RC(TIDE_EINVAL, tide_unix_connect(loop, long_path, &c));
  return 0;
}

TIDE_TEST(unix, connect_to_a_missing_path_gives_enoent) {
  net_run(unix_missing_main, NULL, 10);
}

/* A listener that never accepts, with a backlog of one: connecting clients fill it, and the
 * connect after that must fail (Linux: EAGAIN; the BSDs and Windows refuse) rather than wait for
 * a handshake that nothing will ever start. */
enum { FULL_BACKLOG_MAX_CLIENTS = 64 };

static int unix_full_backlog_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  char path[160];
  plat_unix_socket_path(path, sizeof path, "unix-full");
  tide_listen_options opts;
  tide_listen_options_init(&opts);
  opts.backlog = 1;
  tide_listener *l;
  int err = tide_unix_listen(loop, path, &opts, &l);
  if (!unix_supported(err))
    return 0;
  CHECK_OK(err);
  tide_stream *clients[FULL_BACKLOG_MAX_CLIENTS];
  int connected = 0;
  err = 0;
  while (connected < FULL_BACKLOG_MAX_CLIENTS &&
         (err = tide_unix_connect(loop, path, &clients[connected])) == 0)
    connected++;
  if (err != TIDE_EAGAIN && err != TIDE_ECONNREFUSED)
    TIDE_TEST_FAIL(
        "after %d connects to a full backlog: expected TIDE_EAGAIN or TIDE_ECONNREFUSED, got %s",
        connected, tide_err_name(err));
  CHECK(connected >= 1);
  for (int i = 0; i < connected; i++)
    CHECK_OK(tide_stream_close(clients[i]));
  CHECK_OK(tide_listener_close(l));
  CHECK_EQ(0, plat_remove_file(path));
  return 0;
}

TIDE_TEST(unix, connect_to_a_full_backlog_fails_instead_of_waiting) {
  net_run(unix_full_backlog_main, NULL, 10);
}
