/* tests/log_capture.h — what a loop reports, captured so tests can assert on it: a log hook that
 * records messages (did tide report a problem, or not?) and a task dump read back as text.
 * Shared by the core tests and the conformance suite. */
#ifndef TIDE_TESTS_LOG_CAPTURE_H
#define TIDE_TESTS_LOG_CAPTURE_H

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "tide.h"

typedef struct log_capture {
  int count;
  int warnings; /* messages of level TIDE_LOG_WARN or above */
  char last[512];
  char all[4096]; /* every message, one per line, truncated when full (a close report is several) */
} log_capture;

static inline void log_capture_fn(void *user, tide_log_level level, const char *message) {
  log_capture *c = user;
  c->count++;
  if (level >= TIDE_LOG_WARN) /* warnings and errors */
    c->warnings++;
  snprintf(c->last, sizeof c->last, "%s", message);
  size_t used = strlen(c->all);
  snprintf(c->all + used, sizeof c->all - used, "%s\n", message);
}

/* Creates a loop whose log goes to `capture`; fails the test if it cannot. */
static inline tide_loop *new_loop_capturing(log_capture *capture) {
  memset(capture, 0, sizeof *capture);
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.log = log_capture_fn;
  opts.log_user = capture;
  tide_loop *loop = NULL;
  CHECK_OK(tide_loop_new(&loop, &opts));
  return loop;
}

/* Closes the loop and fails the test if it reported any warning. */
static inline void close_loop_quietly(tide_loop *loop, const log_capture *capture) {
  CHECK_OK(tide_loop_close(loop));
  if (capture->warnings != 0)
    TIDE_TEST_FAIL("the loop reported %d warning(s), last: %s", capture->warnings, capture->last);
}

/* Dumps the loop's tasks (tide_loop_dump_tasks) into buf (size bytes, NUL-terminated) and returns
 * the count it reported. Goes through the file `path` in the working directory (the build's),
 * removed afterwards: open_memstream and fmemopen are POSIX only. */
static inline int dump_tasks_text(tide_loop *loop, const char *path, char *buf, size_t size) {
  FILE *out = fopen(path, "w+");
  CHECK(out != NULL);
  int n = tide_loop_dump_tasks(loop, out);
  rewind(out);
  size_t got = fread(buf, 1, size - 1, out);
  buf[got] = '\0';
  fclose(out);
  CHECK_EQ(0, remove(path));
  return n;
}

#endif
