/* bench/compare/chain.h — the "chain" workload (libevent's test/bench.c, the benchmark libevent
 * and libev are known for), defined once for every program chain_<lib>.c.
 *
 * Once, not measured: P socketpairs (AF_UNIX, SOCK_STREAM, both ends non-blocking); pair i is
 * read at fds[2i] and written at fds[2i+1]. Then I iterations, each measured as a whole (CPU time
 * user + sys, and wall time):
 *   1. register a reader on the read end of every pair (the library's own way: event_add,
 *      ev_io_start, uv_read_start, epoll_ctl ADD, a tide task per pair);
 *   2. write one byte into A pairs spaced P/A apart;
 *   3. run the loop until every byte written has been read: a reader counts each byte it reads
 *      and, while the iteration's budget of W writes lasts, writes one byte into the next pair
 *      ((i + 1) % P) and takes one from the budget. So A chains of bytes run round the pairs in
 *      lockstep; the iteration is over when the budget is spent and the last byte is read
 *      (received == written, as bench.c's `count == fired`);
 *   4. unregister every reader (event_del, ev_io_stop, uv_read_stop, epoll_ctl DEL, cancelling
 *      the tasks and waiting for them to end).
 * After each iteration, outside the measurement, chain_iteration_end checks that exactly A + W
 * bytes were written and read and that no read end holds a byte any more.
 *
 * A reader reads up to CHAIN_READ_MAX bytes per read call and handles each byte it got. In
 * steady state a pair never holds more than one byte (the chains do not catch up with each
 * other), so this is one byte per read, as in bench.c; the buffer only spares readers whose
 * library would otherwise have to ask the kernel again to learn that the socket is empty
 * (an edge-triggered reactor presumes a full read left more behind: see chain_tide.c). */
#ifndef TIDE_BENCH_CHAIN_H
#define TIDE_BENCH_CHAIN_H

#include <stddef.h>
#include <sys/socket.h>

enum { CHAIN_READ_MAX = 16 };

typedef struct chain_params {
  size_t pipes;      /* P: socketpairs */
  size_t active;     /* A: bytes written to start each iteration (the chains) */
  size_t writes;     /* W: bytes the readers write per iteration */
  size_t iterations; /* I */
} chain_params;

/* Parses `-n pipes -a active -w writes -i iterations` (bench.c's -n/-a/-w, plus -i) over the
 * defaults, and checks 1 <= A <= P. Prints the usage and returns -1 on a bad argument. */
int chain_parse(int argc, char **argv, chain_params *p);

/* Raises the soft RLIMIT_NOFILE to the hard limit, then creates p->pipes socketpairs, both ends
 * non-blocking: fds[2i] is pair i's read end, fds[2i + 1] its write end. Returns the array (the
 * caller frees it and closes the descriptors, or hands them to its library) or NULL, having
 * printed why (too few descriptors allowed: lower -n). */
int *chain_open_pairs(const chain_params *p);

/* Closes every descriptor of the array and frees it. */
void chain_close_pairs(int *fds, const chain_params *p);

/* Where pair i's byte goes next: the write end of pair (i + 1) % P. */
static inline size_t chain_next(size_t i, size_t pipes) {
  return i + 1 == pipes ? 0 : i + 1;
}

/* The pair that gets the k-th of the A starting bytes (k < A): spaced P/A apart. */
static inline size_t chain_start(size_t k, const chain_params *p) {
  return k * (p->pipes / p->active);
}

/* What an iteration counts: writes still allowed, bytes written, bytes read. */
typedef struct chain_counts {
  size_t budget;
  size_t written;
  size_t received;
} chain_counts;

/* Step (2) for the programs that write with send() themselves (the readiness loops): resets the
 * counts and writes the first byte into each of the A starting pairs. */
static inline void chain_seed(chain_counts *c, const int *fds, const chain_params *p) {
  c->budget = p->writes;
  c->written = c->received = 0;
  for (size_t k = 0; k < p->active; k++)
    c->written += send(fds[2 * chain_start(k, p) + 1], "e", 1, 0) == 1;
}

/* Their step (3) for n bytes just read: counts each and, while the budget lasts, sends one byte
 * on to `next` (the next pair's write end). Inline: it runs once per read in the measured loop. */
static inline void chain_pass_on(chain_counts *c, int next, size_t n) {
  for (size_t k = 0; k < n; k++) {
    c->received++;
    if (c->budget > 0) {
      c->budget--;
      if (send(next, "e", 1, 0) == 1)
        c->written++;
    }
  }
}

/* The measurements of one program run: one entry per iteration. */
typedef struct chain_run {
  chain_params params;
  const int *fds; /* the socketpairs, for the emptiness check (still owned by the program) */
  double *cpu_s;  /* per iteration: the whole of it */
  double *loop_s; /* per iteration: steps 2-3, from chain_iteration_registered to _drained */
  double *wall_s;
  size_t done;
  int ok;
  double cpu_start; /* CPU seconds at chain_iteration_begin, _registered and _drained */
  double cpu_registered;
  double cpu_drained;
  double wall_start;
} chain_run;

/* Prepares `run` for p->iterations iterations over `fds`. Returns 0 or -1 (out of memory). */
int chain_run_init(chain_run *run, const chain_params *p, const int *fds);

/* Starts measuring one iteration: call just before step 1. */
void chain_iteration_begin(chain_run *run);

/* Marks the end of step 1 (every reader registered) and of step 3 (the last byte read), so that
 * the loop's part (steps 2-3) can be told from registering and unregistering (steps 1 and 4), as
 * libev's benchmark reports them apart. For tide's tasks step 1 is the spawns: each reader's first
 * read happens when it first runs, in the loop. */
void chain_iteration_registered(chain_run *run);
void chain_iteration_drained(chain_run *run);

/* Stops measuring: call just after step 4, with the bytes written (A + the readers' writes) and
 * read during the iteration. Records the times, then (unmeasured) checks the counts and that
 * every read end is empty; a failed check marks the run FAILED and prints why. */
void chain_iteration_end(chain_run *run, size_t written, size_t received);

/* Prints the result line (median, min and max CPU seconds per iteration; the median CPU seconds of
 * steps 2-3 alone; the median wall seconds per iteration):
 *   tide-bench lib=L workload=chain link=K pipes=P active=A writes=W iterations=I cpu_s=..
 *              cpu_min_s=.. cpu_max_s=.. loop_cpu_s=.. wall_s=.. maxrss_kb=.. status=ok|FAILED
 * `ok` is the program's own verdict on top of the per-iteration checks (a setup or loop error).
 * Frees the run's arrays. Returns 0 if everything was ok, else 1: the program's exit status. */
int chain_report(const char *lib, chain_run *run, int ok);

#endif
