/* tests/resources/resources_util.h — what the resource tests share: a log hook that keeps every
 * message (the close report is several lines), a descriptor count, and a loop driver. */
#ifndef TIDE_TESTS_RESOURCES_UTIL_H
#define TIDE_TESTS_RESOURCES_UTIL_H

#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "tide.h"

#define RES_MS INT64_C(1000000)

typedef struct res_log {
  int warnings;
  char all[4096]; /* every message, one per line, truncated when full */
} res_log;

static inline void res_log_fn(void *user, tide_log_level level, const char *message) {
  res_log *c = user;
  if (level >= TIDE_LOG_WARN)
    c->warnings++;
  size_t used = strlen(c->all);
  snprintf(c->all + used, sizeof c->all - used, "%s\n", message);
}

static inline tide_loop *res_loop_new(res_log *log) {
  memset(log, 0, sizeof *log);
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.log = res_log_fn;
  opts.log_user = log;
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, &opts));
  return loop;
}

static inline int res_count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.')
      n++;
  }
  closedir(d);
  return n - 1; /* the directory stream's own descriptor */
}

/* Runs the loop until `f` settles (bounded: fails the test after about 10 s of ticks). */
static inline void res_run_until(tide_loop *loop, tide_future *f) {
  for (int i = 0; i < 1000 && !tide_future_done(f); i++)
    CHECK(tide_loop_run_once(loop, 10 * RES_MS) >= 0);
  CHECK(tide_future_done(f));
}

#endif
