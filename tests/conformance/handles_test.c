/* tests/conformance/handles_test.c — the loop's registry of open handles (what tide_loop_close
 * reports and closes, descriptors and all) and the reuse of closed streams' memory (accepting
 * allocates nothing in steady state). The pool itself is tested in tests/pool_test.c. */
#include <string.h>

#include "net_util.h"

TIDE_TEST(handles, loop_close_reports_and_closes_handles_never_closed) {
  int fds_before = net_count_fds();
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  int fds_with_loop = net_count_fds(); /* the loop's poller and wake descriptors (or handles) */
  struct sockaddr_storage addr;
  (void)net_listen(loop, "127.0.0.1", &addr);
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &addr));
  tide_udp *u;
  CHECK_OK(tide_udp_bind(loop, (struct sockaddr *)&addr, NULL, &u));
  CHECK_EQ(fds_with_loop + 4, net_count_fds());
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(3, log.warnings); /* one line per kind */
  CHECK(strstr(log.all, "1 listener(s) never closed") != NULL);
  CHECK(strstr(log.all, "2 pipe stream(s) never closed") != NULL);
  CHECK(strstr(log.all, "1 UDP socket(s) never closed") != NULL);
  CHECK_EQ(fds_before, net_count_fds());
}

TIDE_TEST(handles, loop_close_reports_nothing_when_every_handle_was_closed) {
  int fds_before = net_count_fds();
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  struct sockaddr_storage addr;
  tide_listener *l = net_listen(loop, "127.0.0.1", &addr);
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_stream_close(w));
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_listener_close(l));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
  CHECK_EQ(fds_before, net_count_fds());
}

/* A task blocked in a read of a stream it never closes: the loop's close cancels the task (the
 * read returns TIDE_ECANCELED), then closes the stream the task left behind. */
typedef struct reader {
  tide_stream *s;
  int read_rc;
} reader;

static int read_forever(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  reader *rd = arg;
  char buf[64];
  size_t n;
  rd->read_rc = tide_stream_read(rd->s, buf, sizeof buf, &n);
  return rd->read_rc;
}

TIDE_TEST(handles, loop_close_closes_a_stream_whose_task_was_waiting_in_a_read) {
  int fds_before = net_count_fds();
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *w;
  reader rd = {NULL, 1};
  CHECK_OK(tide_pipe_open(loop, &rd.s, &w));
  CHECK_OK(tide_spawn(loop, read_forever, &rd, NULL, NULL));
  for (int i = 0; i < 3; i++)
    CHECK(tide_loop_run_once(loop, 0) >= 0);
  CHECK_EQ(1, rd.read_rc); /* still waiting */
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(TIDE_ECANCELED, rd.read_rc);
  CHECK(strstr(log.all, "2 pipe stream(s) never closed") != NULL);
  CHECK_EQ(fds_before, net_count_fds());
}

/* Accepts one connection, records the stream's address, and closes it. */
typedef struct acceptor {
  tide_listener *l;
  struct sockaddr_storage addr;
  void *streams[2];
} acceptor;

static int accept_and_close_twice(tide_loop *loop, void *arg, void **result) {
  (void)result;
  acceptor *a = arg;
  for (int i = 0; i < 2; i++) {
    tide_stream *c;
    CHECK_OK(tide_tcp_connect(loop, (struct sockaddr *)&a->addr, &c));
    tide_stream *s;
    CHECK_OK(tide_listener_accept(a->l, &s));
    a->streams[i] = s;
    CHECK_OK(tide_stream_close(s));
    CHECK_OK(tide_stream_close(c));
  }
  return 0;
}

TIDE_TEST(handles, an_accepted_stream_reuses_the_slot_of_a_closed_one) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  acceptor a;
  a.l = net_listen(loop, "127.0.0.1", &a.addr);
  tide_future *f;
  CHECK_OK(tide_spawn(loop, accept_and_close_twice, &a, NULL, &f));
  net_run_until(loop, f);
  CHECK_OK(tide_future_result(f, NULL));
  tide_future_release(f);
  /* Closed streams go back to the loop's pool, and the next accept takes the same slot: no
   * allocation per connection once the pool covers the peak. */
  CHECK(a.streams[0] == a.streams[1]);
  CHECK_OK(tide_listener_close(a.l));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}

TIDE_TEST(handles, streams_of_closed_pipes_are_reused) {
  log_capture log;
  tide_loop *loop = new_loop_capturing(&log);
  tide_stream *r1, *w1, *r2, *w2;
  CHECK_OK(tide_pipe_open(loop, &r1, &w1));
  CHECK_OK(tide_stream_close(r1));
  CHECK_OK(tide_stream_close(w1));
  CHECK_OK(tide_pipe_open(loop, &r2, &w2));
  CHECK((r2 == r1 && w2 == w1) || (r2 == w1 && w2 == r1));
  CHECK_OK(tide_stream_close(r2));
  CHECK_OK(tide_stream_close(w2));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
}
