/* bench/tasks/sleepers.c — resident memory per task: N tasks (default 100,000) sleeping
 * concurrently, each on its own guard-paged stack of the default size.
 *
 * Prints RSS before spawning, with all N asleep, and the difference per task (everything tide
 * holds for a task — the task object with its future, the stack pages the task touched, the
 * timer-heap entry — plus the page tables the kernel keeps for it). The tasks then wake up and
 * finish; the program checks that they all did.
 *
 *   sleepers [N] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tide.h"

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct census {
  long asleep;
  long finished;
};

static int sleeper(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct census *c = arg;
  c->asleep++;
  int err = tide_sleep(loop, 500 * 1000000LL);
  c->finished += err == 0;
  return err;
}

static void report(tide_timer *timer, void *arg) {
  (void)timer;
  long *rss_asleep = arg;
  *rss_asleep = rss_kib();
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  tide_loop *loop;
  if (n <= 0 || tide_loop_new(&loop, NULL) != 0)
    return 2;
  struct census census = {0, 0};
  long rss_before = rss_kib();
  for (long i = 0; i < n; i++) {
    int err = tide_spawn(loop, sleeper, &census, NULL, NULL);
    if (err != 0) {
      fprintf(stderr, "spawn %ld failed: %s\n", i, tide_strerror(err));
      return 1;
    }
  }
  /* Measure once every task has started and is asleep (the tasks sleep 500 ms). */
  long rss_asleep = -1;
  tide_timer probe;
  tide_timer_init(&probe, report, &rss_asleep);
  tide_timer_start(loop, &probe, 250 * 1000000LL, 0);
  int rc = tide_loop_run(loop);
  tide_loop_close(loop);
  if (rc != 0 || census.finished != n || census.asleep != n) {
    fprintf(stderr, "only %ld of %ld tasks finished\n", census.finished, n);
    return 1;
  }
  printf("tasks=%ld rss_before_kib=%ld rss_asleep_kib=%ld bytes_per_task=%.0f\n", n, rss_before,
         rss_asleep, (double)(rss_asleep - rss_before) * 1024.0 / (double)n);
  return 0;
}
