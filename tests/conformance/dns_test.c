/* tests/conformance/dns_test.c — name resolution (localhost and numeric names only), cancelled
 * lookups, a loop closed with a lookup in flight, and connecting by name. */
#define _POSIX_C_SOURCE 200809L /* struct addrinfo in <netdb.h> under strict C11 */
#include "net_util.h"

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
  tide_future *f;
  CHECK_OK(tide_resolve_future(loop, "localhost", "http", NULL, &f));
  CHECK_OK(tide_future_cancel(f));
  /* The op settles at once; the worker finishes on its own and frees what it found (ASan and
   * valgrind check the memory; net_run checks, once the loop has closed and so waited for the
   * executor, that no descriptor was left open). Handles are not compared while the loop runs:
   * on Windows its executor's threads are handles, and they come and go with the work. */
  CHECK_RC(TIDE_ECANCELED, net_await(f));
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
    plat_sleep_ms(1);
  CHECK_EQ(before, net_count_fds());
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
  plat_socket refusing = plat_refusing_port(&closed);
  snprintf(port, sizeof port, "%u", (unsigned)tide_addr_port((struct sockaddr *)&closed));
  CHECK_RC(TIDE_ECONNREFUSED, tide_tcp_connect_name(loop, "127.0.0.1", port, &c));
  CHECK(c == NULL);
  plat_socket_close(refusing);
  return 0;
}

TIDE_TEST(dns, connect_by_name_tries_each_address) {
  net_run(dns_connect_name_main, NULL, 10);
}

/* ---- lookups on the executor's blocking lane ------------------------------------------------- */

enum { MANY_LOOKUPS = 200 };

static int dns_many_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  static tide_future *futures[MANY_LOOKUPS];
  for (int i = 0; i < MANY_LOOKUPS; i++)
    CHECK_OK(
        tide_resolve_future(loop, i % 4 == 0 ? "127.0.0.1" : "localhost", "7", NULL, &futures[i]));
  for (int i = 0; i < MANY_LOOKUPS; i++) {
    void *v;
    CHECK_OK(tide_await(futures[i], &v));
    tide_future_release(futures[i]);
    struct addrinfo *list = tide_io_addrinfo(v);
    CHECK(list != NULL);
    CHECK_EQ(7, tide_addr_port(list->ai_addr));
    tide_addrinfo_free(list);
  }
  return 0;
}

TIDE_TEST(dns, many_lookups_at_once_all_resolve) {
  net_run(dns_many_main, NULL, 20);
}

/* A cancel settles the future at once, whether the lookup is still queued, running or already
 * finished but not yet delivered; a result that arrives later is freed (ASan and valgrind check
 * that). The number of loop ticks before the cancel varies, so each of those moments is hit. */
static int dns_cancel_running_main(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  for (int ticks = 0; ticks < 40; ticks++) {
    tide_future *f;
    CHECK_OK(tide_resolve_future(loop, "localhost", "http", NULL, &f));
    for (int i = 0; i < ticks; i++)
      CHECK_OK(tide_yield(loop));
    int rc = tide_future_cancel(f);
    if (rc == 0) {
      CHECK(tide_future_done(f)); /* at once, not when getaddrinfo returns */
      CHECK_RC(TIDE_ECANCELED, tide_future_result(f, NULL));
    } else {
      CHECK_RC(TIDE_EALREADY, rc); /* it had resolved: the list is ours to free */
      void *v;
      CHECK_OK(tide_future_result(f, &v));
      tide_addrinfo_free(tide_io_addrinfo(v));
    }
    tide_future_release(f);
  }
  return 0;
}

TIDE_TEST(dns, cancel_at_any_moment_settles_at_once_and_frees_the_late_result) {
  net_run(dns_cancel_running_main, NULL, 20);
}

/* The lookup has finished on its thread but the loop never ran to take the result: closing the
 * loop must free the list rather than hand it to a future nobody can await any more. */
TIDE_TEST(dns, loop_closed_after_a_lookup_finished_unseen_frees_its_result) {
  tide_loop *loop;
  CHECK_OK(tide_loop_new(&loop, NULL));
  tide_future *f;
  CHECK_OK(tide_resolve_future(loop, "localhost", NULL, NULL, &f));
  tide_future_release(f);
  plat_sleep_ms(200); /* long enough for a lookup of localhost to end on the blocking lane */
  CHECK_OK(tide_loop_close(loop));
}
