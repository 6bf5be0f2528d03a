/* examples/sequential_vs_concurrent.c — the article's second scenario: awaiting three queries
 * one after another takes their sum; spawning them as tasks, or gathering them, takes the longest.
 *
 *   Sequential: 0.901s — Result of 'orders', Result of 'users', Result of 'prefs'
 *   Concurrent: 0.401s — Result of 'orders', Result of 'users', Result of 'prefs'
 *   Gather: 0.401s — [Result of 'orders', Result of 'users', Result of 'prefs']
 */
#include <stdio.h>

#include "timeline.h"

struct query {
  const char *name;
  double latency_s;
  char result[64];
};

/* Simulates a database query with the given latency; resolves with its result string. */
static int query_database(tide_loop *loop, void *arg, void **result) {
  struct query *q = arg;
  int err = tide_sleep(loop, SECONDS(q->latency_s));
  if (err != 0)
    return err;
  snprintf(q->result, sizeof q->result, "Result of '%s'", q->name);
  *result = q->result;
  return 0;
}

enum { QUERIES = 3 };

static void reset(struct query *qs) {
  const char *names[QUERIES] = {"orders", "users", "prefs"};
  const double latencies[QUERIES] = {0.3, 0.4, 0.2};
  for (int i = 0; i < QUERIES; i++)
    qs[i] = (struct query){names[i], latencies[i], ""};
}

/* BAD: each query starts only when the previous one finished. Total = 0.3 + 0.4 + 0.2 s. */
static int sequential(tide_loop *loop, struct query *qs) {
  int64_t start = tide_loop_update_time(loop);
  for (int i = 0; i < QUERIES; i++) {
    void *unused;
    int err = query_database(loop, &qs[i], &unused); /* a plain call: runs in this task */
    if (err != 0)
      return err;
  }
  printf("Sequential: %.3fs — %s, %s, %s\n", seconds_since(loop, start), qs[0].result, qs[1].result,
         qs[2].result);
  return 0;
}

static int spawn_all(tide_loop *loop, struct query *qs, tide_future **tasks) {
  for (int i = 0; i < QUERIES; i++) {
    int err = tide_spawn(loop, query_database, &qs[i], &(tide_task_options){.name = qs[i].name},
                         &tasks[i]);
    if (err != 0)
      return err;
  }
  return 0;
}

static void release_all(tide_future **tasks) {
  for (int i = 0; i < QUERIES; i++)
    tide_future_release(tasks[i]);
}

/* GOOD: all three tasks start now and wait concurrently; awaiting them in turn costs nothing
 * extra. Total = max(0.3, 0.4, 0.2) s. */
static int concurrent(tide_loop *loop, struct query *qs) {
  int64_t start = tide_loop_update_time(loop);
  tide_future *tasks[QUERIES] = {NULL};
  int err = spawn_all(loop, qs, tasks);
  for (int i = 0; i < QUERIES && err == 0; i++)
    err = tide_await(tasks[i], NULL);
  if (err == 0)
    printf("Concurrent: %.3fs — %s, %s, %s\n", seconds_since(loop, start), qs[0].result,
           qs[1].result, qs[2].result);
  release_all(tasks);
  return err;
}

/* BEST for fire-and-collect: gather waits for all, results in argument order. */
static int gathered(tide_loop *loop, struct query *qs) {
  int64_t start = tide_loop_update_time(loop);
  tide_future *tasks[QUERIES] = {NULL}, *all = NULL;
  int err = spawn_all(loop, qs, tasks);
  if (err == 0)
    err = tide_gather(loop, tasks, QUERIES, 0, &all);
  if (err == 0)
    err = tide_await(all, NULL);
  if (err == 0) {
    const char *results[QUERIES];
    for (int i = 0; i < QUERIES; i++)
      tide_future_result(tasks[i], (void **)&results[i]);
    printf("Gather: %.3fs — [%s, %s, %s]\n", seconds_since(loop, start), results[0], results[1],
           results[2]);
  }
  tide_future_release(all);
  release_all(tasks);
  return err;
}

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct query qs[QUERIES];
  reset(qs);
  int err = sequential(loop, qs);
  reset(qs);
  if (err == 0)
    err = concurrent(loop, qs);
  reset(qs);
  if (err == 0)
    err = gathered(loop, qs);
  return err;
}

int main(void) {
  int err = tide_run(main_task, NULL, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "error: %s\n", tide_strerror(err));
  return err == 0 ? 0 : 1;
}
