/* tests/log_capture.h — a loop log hook that records messages, so tests can assert that tide
 * reported (or did not report) a problem. */
#ifndef TIDE_TESTS_LOG_CAPTURE_H
#define TIDE_TESTS_LOG_CAPTURE_H

#include <stdio.h>
#include <string.h>

#include "tide.h"

typedef struct log_capture {
  int count;
  int warnings;
  char last[512];
} log_capture;

static inline void log_capture_fn(void *user, tide_log_level level, const char *message) {
  log_capture *c = user;
  c->count++;
  if (level == TIDE_LOG_WARN)
    c->warnings++;
  snprintf(c->last, sizeof c->last, "%s", message);
}

/* Creates a loop whose log goes to `capture`; fails the test if it cannot. */
static inline tide_loop *new_loop_capturing(log_capture *capture) {
  memset(capture, 0, sizeof *capture);
  tide_loop_options opts;
  tide_loop_options_init(&opts);
  opts.log = log_capture_fn;
  opts.log_user = capture;
  tide_loop *loop = NULL;
  if (tide_loop_new(&loop, &opts) != 0) {
    fprintf(stderr, "tide_loop_new failed\n");
    exit(1);
  }
  return loop;
}

#endif
