/* bench/compare/chain.c — setup, checks and the result line of the chain workload (chain.h).
 *
 * The per-iteration figure is a median over the program's own iterations: the first iteration
 * pays for each library growing its tables and pools, and a burst of background load hits one
 * iteration, not the run. CPU time is the claim (user + sys from getrusage, which on Linux sums
 * the scheduler's precise runtime); wall time is printed beside it for reference only. */
#define _POSIX_C_SOURCE 200809L
#include "chain.h"
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_LINK
#define BENCH_LINK "unknown"
#endif

enum {
  CHAIN_DEFAULT_PIPES = 1000,
  CHAIN_DEFAULT_ACTIVE = 100,
  CHAIN_DEFAULT_WRITES = 100000,
  CHAIN_DEFAULT_ITERATIONS = 5
};

static int parse_count(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s == '\0' || *s == '-' || *end != '\0' || v == 0 || errno != 0)
    return -1;
  *out = (size_t)v;
  return 0;
}

int chain_parse(int argc, char **argv, chain_params *p) {
  *p = (chain_params){.pipes = CHAIN_DEFAULT_PIPES,
                      .active = CHAIN_DEFAULT_ACTIVE,
                      .writes = CHAIN_DEFAULT_WRITES,
                      .iterations = CHAIN_DEFAULT_ITERATIONS};
  int bad = 0;
  for (int i = 1; i < argc && !bad; i += 2) {
    const char *opt = argv[i];
    size_t *field = strcmp(opt, "-n") == 0   ? &p->pipes
                    : strcmp(opt, "-a") == 0 ? &p->active
                    : strcmp(opt, "-w") == 0 ? &p->writes
                    : strcmp(opt, "-i") == 0 ? &p->iterations
                                             : NULL;
    bad = field == NULL || i + 1 >= argc || parse_count(argv[i + 1], field) != 0;
  }
  if (bad || p->active > p->pipes) {
    fprintf(stderr,
            "usage: %s [-n pipes (%d)] [-a active (%d), <= pipes] [-w writes (%d)] "
            "[-i iterations (%d)]\n",
            argv[0], CHAIN_DEFAULT_PIPES, CHAIN_DEFAULT_ACTIVE, CHAIN_DEFAULT_WRITES,
            CHAIN_DEFAULT_ITERATIONS);
    return -1;
  }
  return 0;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl); /* a failure shows up as EMFILE below */
  }
}

static int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int *chain_open_pairs(const chain_params *p) {
  raise_nofile();
  int *fds = malloc(2 * p->pipes * sizeof *fds);
  if (fds == NULL) {
    fprintf(stderr, "chain: out of memory\n");
    return NULL;
  }
  for (size_t i = 0; i < p->pipes; i++) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[2 * i]) != 0) {
      int err = errno;
      struct rlimit rl = {0, 0};
      (void)getrlimit(RLIMIT_NOFILE, &rl);
      fprintf(stderr, "chain: socketpair %zu of %zu: %s (RLIMIT_NOFILE %llu: lower -n)\n", i,
              p->pipes, strerror(err), (unsigned long long)rl.rlim_cur);
      chain_close_pairs(fds, &(chain_params){.pipes = i});
      return NULL;
    }
    if (set_nonblocking(fds[2 * i]) != 0 || set_nonblocking(fds[2 * i + 1]) != 0) {
      fprintf(stderr, "chain: fcntl: %s\n", strerror(errno));
      chain_close_pairs(fds, &(chain_params){.pipes = i + 1});
      return NULL;
    }
  }
  return fds;
}

void chain_close_pairs(int *fds, const chain_params *p) {
  for (size_t i = 0; i < 2 * p->pipes; i++)
    close(fds[i]);
  free(fds);
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int chain_run_init(chain_run *run, const chain_params *p, const int *fds) {
  *run = (chain_run){.params = *p, .fds = fds, .ok = 1};
  run->cpu_s = malloc(p->iterations * sizeof *run->cpu_s);
  run->loop_s = malloc(p->iterations * sizeof *run->loop_s);
  run->wall_s = malloc(p->iterations * sizeof *run->wall_s);
  if (run->cpu_s == NULL || run->loop_s == NULL || run->wall_s == NULL) {
    free(run->cpu_s);
    free(run->loop_s);
    free(run->wall_s);
    return -1;
  }
  return 0;
}

static double cpu_now(void) {
  bench_cpu c = bench_cpu_now();
  return c.user_s + c.sys_s;
}

void chain_iteration_begin(chain_run *run) {
  run->wall_start = wall_now();
  run->cpu_start = run->cpu_registered = run->cpu_drained = cpu_now();
}

void chain_iteration_registered(chain_run *run) {
  run->cpu_registered = run->cpu_drained = cpu_now();
}

void chain_iteration_drained(chain_run *run) {
  run->cpu_drained = cpu_now();
}

/* 1 if no read end holds a byte: a peek that would block (every end is non-blocking: made so
 * here, and the libraries keep it so). */
static int all_empty(const chain_run *run, size_t *culprit) {
  for (size_t i = 0; i < run->params.pipes; i++) {
    char c;
    ssize_t n = recv(run->fds[2 * i], &c, 1, MSG_PEEK);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      *culprit = i;
      return 0;
    }
  }
  return 1;
}

void chain_iteration_end(chain_run *run, size_t written, size_t received) {
  double cpu = cpu_now() - run->cpu_start;
  double wall = wall_now() - run->wall_start;
  if (run->done < run->params.iterations) {
    run->cpu_s[run->done] = cpu;
    run->loop_s[run->done] = run->cpu_drained - run->cpu_registered;
    run->wall_s[run->done] = wall;
    run->done++;
  }
  size_t expected = run->params.active + run->params.writes;
  size_t culprit = 0;
  if (written != expected || received != expected) {
    fprintf(stderr, "chain: iteration %zu: %zu bytes written and %zu read, expected %zu\n",
            run->done, written, received, expected);
    run->ok = 0;
  } else if (!all_empty(run, &culprit)) {
    fprintf(stderr, "chain: iteration %zu: pair %zu still holds a byte (or failed a peek)\n",
            run->done, culprit);
    run->ok = 0;
  }
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v and returns its median (0 for an empty array). */
static double median(double *v, size_t n) {
  if (n == 0)
    return 0;
  qsort(v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int chain_report(const char *lib, chain_run *run, int ok) {
  ok = ok && run->ok && run->done == run->params.iterations;
  double cpu = median(run->cpu_s, run->done);
  double cpu_min = run->done ? run->cpu_s[0] : 0;
  double cpu_max = run->done ? run->cpu_s[run->done - 1] : 0;
  double loop = median(run->loop_s, run->done);
  double wall = median(run->wall_s, run->done);
  struct rusage ru;
  long maxrss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
  const chain_params *p = &run->params;
  printf("tide-bench lib=%s workload=chain link=%s pipes=%zu active=%zu writes=%zu "
         "iterations=%zu cpu_s=%.6f cpu_min_s=%.6f cpu_max_s=%.6f loop_cpu_s=%.6f wall_s=%.6f "
         "maxrss_kb=%ld status=%s\n",
         lib, BENCH_LINK, p->pipes, p->active, p->writes, p->iterations, cpu, cpu_min, cpu_max,
         loop, wall, maxrss, ok ? "ok" : "FAILED");
  fflush(stdout);
  free(run->cpu_s);
  free(run->loop_s);
  free(run->wall_s);
  run->cpu_s = run->loop_s = run->wall_s = NULL;
  return ok ? 0 : 1;
}
