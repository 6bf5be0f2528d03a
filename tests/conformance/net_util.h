/* tests/conformance/net_util.h — what the networking tests share: a main task run to completion
 * on a fresh loop under a time bound (the loop's warnings fail the test), a loop driven until a
 * future settles, a descriptor (handle) count taken before and after every test (nothing may
 * leak), a connected pair of TCP streams, and a few servers written as tasks.
 *
 * Traffic goes to 127.0.0.1 / ::1 only, and names are never looked up beyond "localhost". */
#ifndef TIDE_TESTS_NET_UTIL_H
#define TIDE_TESTS_NET_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "log_capture.h"
#include "platform.h"

#define MS INT64_C(1000000)
#define SECOND_NS INT64_C(1000000000)

static inline int64_t net_mono_ns(void) {
  return plat_mono_ns();
}

static inline int net_count_fds(void) {
  return plat_count_handles();
}

/* Set by NET_SKIP inside a test's main task; net_run ends the test as skipped once the loop is
 * closed and checked, so a skip found on the way still cleans up like a pass. */
static const char *net_skip_reason;

/* Inside a net_run main task only: ends it and the test as skipped, with `reason` (which must name
 * the platform limitation). */
#define NET_SKIP(reason)                                                                           \
  do {                                                                                             \
    net_skip_reason = (reason);                                                                    \
    return 0;                                                                                      \
  } while (0)

/* Runs the loop until `f` settles (bounded: fails the test after about 10 s of ticks). */
static inline void net_run_until(tide_loop *loop, tide_future *f) {
  for (int i = 0; i < 1000 && !tide_future_done(f); i++)
    CHECK(tide_loop_run_once(loop, 10 * MS) >= 0);
  CHECK(tide_future_done(f));
}

/* Runs main_fn(loop, arg) as a task on a fresh loop until it finishes (at most `limit_s`
 * seconds), checks that it returned 0, closes the loop (no warnings allowed) and checks that no
 * descriptor leaked. */
static inline void net_run(tide_task_fn main_fn, void *arg, int limit_s) {
  int fds_before = net_count_fds();
  log_capture cap;
  tide_loop *loop = new_loop_capturing(&cap);
  tide_future *task;
  CHECK_OK(tide_spawn(loop, main_fn, arg, NULL, &task));
  int64_t give_up = net_mono_ns() + limit_s * SECOND_NS;
  while (!tide_future_done(task)) {
    if (net_mono_ns() > give_up) {
      tide_loop_dump_tasks(loop, stderr);
      TIDE_TEST_FAIL("the test's main task did not finish within %d s", limit_s);
    }
    CHECK(tide_loop_run_once(loop, 100 * MS) >= 0);
  }
  CHECK_OK(tide_future_result(task, NULL));
  tide_future_release(task);
  /* Let fire-and-forget helpers (servers finishing their close) settle. */
  for (int i = 0; i < 100 && tide_loop_alive(loop); i++)
    CHECK(tide_loop_run_once(loop, 10 * MS) >= 0);
  close_loop_quietly(loop, &cap);
  CHECK_EQ(fds_before, net_count_fds());
  if (net_skip_reason != NULL)
    TIDE_SKIP("%s", net_skip_reason);
}

/* A TCP listener on 127.0.0.1 (or ::1) with a kernel-chosen port; *addr gets its address. */
static inline tide_listener *net_listen(tide_loop *loop, const char *ip,
                                        struct sockaddr_storage *addr) {
  struct sockaddr_storage want;
  CHECK_OK(tide_addr_from_ip(ip, 0, &want));
  tide_listener *l;
  CHECK_OK(tide_tcp_listen(loop, (struct sockaddr *)&want, NULL, &l));
  CHECK_OK(tide_listener_address(l, addr));
  CHECK(tide_addr_port((struct sockaddr *)addr) != 0);
  return l;
}

/* Echoes everything it reads on `arg` (a stream) until end of file or an error, then closes it. */
static inline int net_echo_conn(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  tide_stream *s = arg;
  char buf[16384];
  for (;;) {
    size_t n;
    int err = tide_stream_read(s, buf, sizeof buf, &n);
    if (err != 0 || n == 0)
      break;
    if (tide_stream_write(s, buf, n) != 0)
      break;
  }
  tide_stream_close(s);
  return 0;
}

/* Accepts `count` connections on `l` (a listener), serving each with net_echo_conn in its own
 * task, then closes the listener. Spawned with arg = a net_server. */
typedef struct net_server {
  tide_listener *listener;
  int count;
} net_server;

static inline int net_echo_server(tide_loop *loop, void *arg, void **result) {
  (void)result;
  net_server *srv = arg;
  for (int i = 0; i < srv->count; i++) {
    tide_stream *s;
    int err = tide_listener_accept(srv->listener, &s);
    if (err != 0) {
      tide_listener_close(srv->listener);
      return err;
    }
    CHECK_OK(tide_spawn(loop, net_echo_conn, s, NULL, NULL));
  }
  tide_listener_close(srv->listener);
  return 0;
}

/* A connected client stream to addr (inside a task). */
static inline tide_stream *net_connect(tide_loop *loop, const struct sockaddr_storage *addr) {
  tide_stream *s = NULL;
  CHECK_OK(tide_tcp_connect(loop, (const struct sockaddr *)addr, &s));
  CHECK(s != NULL);
  return s;
}

/* Connects a client to `l` (listening at addr) and accepts it, inside a task: returns the
 * accepted side and stores the client side in *client. The accept is posted before the connect,
 * so that a completion backend has it waiting when the connection arrives. */
static inline tide_stream *net_accept_pair(tide_loop *loop, tide_listener *l,
                                           const struct sockaddr_storage *addr,
                                           tide_stream **client) {
  tide_future *accepting;
  CHECK_OK(tide_listener_accept_future(l, &accepting));
  *client = net_connect(loop, addr);
  void *v = NULL;
  CHECK_OK(tide_await(accepting, &v));
  tide_future_release(accepting);
  tide_stream *s = tide_io_stream(v);
  CHECK(s != NULL);
  return s;
}

/* A loopback TCP connection and the listener it was accepted from: how most TCP tests start. */
typedef struct net_tcp_pair {
  struct sockaddr_storage addr; /* where the listener listens */
  tide_listener *listener;
  tide_stream *client;
  tide_stream *server; /* the accepted side */
} net_tcp_pair;

/* Inside a task: listens on 127.0.0.1 and connects a client to it (net_accept_pair). */
static inline void net_tcp_pair_open(tide_loop *loop, net_tcp_pair *p) {
  p->listener = net_listen(loop, "127.0.0.1", &p->addr);
  p->server = net_accept_pair(loop, p->listener, &p->addr, &p->client);
}

/* Closes both streams and the listener, checking each close succeeds. */
static inline void net_tcp_pair_close(net_tcp_pair *p) {
  CHECK_OK(tide_stream_close(p->client));
  CHECK_OK(tide_stream_close(p->server));
  CHECK_OK(tide_listener_close(p->listener));
}

/* Awaits an op future, releases it, and returns bytes (>= 0) or the error. */
static inline intptr_t net_await(tide_future *f) {
  void *v = NULL;
  int err = tide_await(f, &v);
  tide_future_release(f);
  return err != 0 ? err : (intptr_t)tide_io_bytes(v);
}

/* Checks a settled op future's outcome and releases it. */
static inline intptr_t net_result(tide_future *f) {
  void *v = NULL;
  int err = tide_future_result(f, &v);
  tide_future_release(f);
  return err != 0 ? err : (intptr_t)tide_io_bytes(v);
}

#endif
