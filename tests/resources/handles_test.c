/* tests/resources/handles_test.c — the loop's registry of open handles (what tide_loop_close
 * reports and closes) and the per-loop handle pool (accepting allocates nothing in steady
 * state). */
#include "resources/resources_util.h"

#include <sys/socket.h>
#include <unistd.h>

#include "core/pool.h"

static tide_listener *listen_any(tide_loop *loop, struct sockaddr_storage *bound) {
  struct sockaddr_storage addr;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &addr));
  tide_listener *l = NULL;
  CHECK_OK(tide_tcp_listen(loop, (struct sockaddr *)&addr, NULL, &l));
  if (bound != NULL)
    CHECK_OK(tide_listener_address(l, bound));
  return l;
}

TIDE_TEST(handles, loop_close_reports_and_closes_handles_never_closed) {
  int fds_before = res_count_fds();
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  int fds_with_loop = res_count_fds(); /* the loop's poller and wake descriptors */
  (void)listen_any(loop, NULL);
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  struct sockaddr_storage addr;
  CHECK_OK(tide_addr_from_ip("127.0.0.1", 0, &addr));
  tide_udp *u;
  CHECK_OK(tide_udp_bind(loop, (struct sockaddr *)&addr, NULL, &u));
  CHECK_EQ(fds_with_loop + 4, res_count_fds());
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(3, log.warnings); /* one line per kind */
  CHECK(strstr(log.all, "1 listener(s) never closed") != NULL);
  CHECK(strstr(log.all, "2 pipe stream(s) never closed") != NULL);
  CHECK(strstr(log.all, "1 UDP socket(s) never closed") != NULL);
  CHECK_EQ(fds_before, res_count_fds());
}

TIDE_TEST(handles, loop_close_reports_nothing_when_every_handle_was_closed) {
  int fds_before = res_count_fds();
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  tide_listener *l = listen_any(loop, NULL);
  tide_stream *r, *w;
  CHECK_OK(tide_pipe_open(loop, &r, &w));
  CHECK_OK(tide_stream_close(w));
  CHECK_OK(tide_stream_close(r));
  CHECK_OK(tide_listener_close(l));
  CHECK_OK(tide_loop_close(loop));
  CHECK_EQ(0, log.warnings);
  CHECK_EQ(fds_before, res_count_fds());
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
  int fds_before = res_count_fds();
  res_log log;
  tide_loop *loop = res_loop_new(&log);
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
  CHECK_EQ(fds_before, res_count_fds());
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
  res_log log;
  tide_loop *loop = res_loop_new(&log);
  acceptor a;
  a.l = listen_any(loop, &a.addr);
  tide_future *f;
  CHECK_OK(tide_spawn(loop, accept_and_close_twice, &a, NULL, &f));
  res_run_until(loop, f);
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
  res_log log;
  tide_loop *loop = res_loop_new(&log);
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

/* ---- the pool itself ----------------------------------------------------------------------- */

TIDE_TEST(pool, objects_are_carved_in_address_order_and_recycled_last_in_first_out) {
  tide__pool pool;
  tide__pool_init(&pool, 40);
  CHECK_EQ(48, pool.object_size); /* rounded up to max_align_t's alignment */
  unsigned char *first = tide__pool_get(&pool);
  CHECK(first != NULL);
  unsigned char *prev = first;
  for (int i = 1; i < 20; i++) {
    unsigned char *o = tide__pool_get(&pool);
    CHECK(o == prev + pool.object_size); /* carved one by one from the same chunk */
    prev = o;
  }
  CHECK_EQ(20, pool.live);
  tide__pool_put(&pool, first + 5 * pool.object_size);
  tide__pool_put(&pool, first);
  CHECK(tide__pool_get(&pool) == first);
  CHECK(tide__pool_get(&pool) == first + 5 * pool.object_size);
  CHECK(tide__pool_get(&pool) == prev + pool.object_size); /* free list empty: carving resumes */
  CHECK_EQ(21, pool.live);
  tide__pool_destroy(&pool);
  CHECK_EQ(0, pool.live);
}

TIDE_TEST(pool, objects_of_whole_cache_lines_start_on_a_cache_line) {
  tide__pool pool;
  tide__pool_init(&pool, 64);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(0, (uintptr_t)tide__pool_get(&pool) % 64);
  tide__pool_destroy(&pool);
}

TIDE_TEST(pool, a_full_chunk_is_followed_by_a_larger_one) {
  tide__pool pool;
  tide__pool_init(&pool, 16);
  /* Past the first chunks (32, then 64 objects), every object is distinct and writable. */
  enum { N = 200 };
  unsigned char *objects[N];
  for (int i = 0; i < N; i++) {
    objects[i] = tide__pool_get(&pool);
    CHECK(objects[i] != NULL);
    memset(objects[i], i, 16);
  }
  for (int i = 0; i < N; i++)
    CHECK_EQ((unsigned char)i, objects[i][15]);
  for (int i = 0; i < N; i++)
    tide__pool_put(&pool, objects[i]);
  CHECK_EQ(0, pool.live);
  tide__pool_destroy(&pool);
}
