/* tide/executor.h — a work-stealing executor for CPU work and blocking calls, and the bridge
 * that runs a function on it and hands the result back to a loop as a future.
 *
 * An executor owns N worker threads (default: one per CPU) for CPU work, and a blocking lane of
 * extra threads, started on demand up to a limit and retired after an idle timeout, for calls that
 * block (a synchronous database driver, getaddrinfo, file I/O), so blocking jobs never take every
 * CPU worker and CPU jobs never wait behind blocking ones.
 *
 * Each worker has a Chase–Lev deque: a job spawned from inside a worker goes to that worker's
 * deque (LIFO for it, stolen FIFO by idle workers), a job submitted from any other thread goes to
 * a shared injection queue. Fork-join works inside workers: spawn children, then join them; a
 * joining worker runs other jobs (its own children first) while it waits, so fork-join never
 * blocks a worker thread while there is work to do. Idle workers sleep in the kernel; at most
 * `max_searching` look for work at once, and a submission wakes a sleeping worker only when none
 * is already looking.
 *
 * Unlike a loop, an executor is used from any thread: every function here may be called from any
 * thread unless it says otherwise. Jobs must not call tide_executor_shutdown on their own
 * executor.
 */
#ifndef TIDE_EXECUTOR_H
#define TIDE_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>

#include "future.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_executor tide_executor;

/* A job: a handle to fn(arg) submitted with tide_executor_spawn. Opaque. */
typedef struct tide_job tide_job;

/* The body of a job. Runs on a worker or a blocking-lane thread; its return value is the job's
 * result. */
typedef void *(*tide_job_fn)(void *arg);

/* Flags for tide_executor_spawn. */
enum {
  TIDE_JOB_BLOCKING = 1u /* run on the blocking lane: the job may block for a long time */
};

/* How tide_executor_shutdown treats the jobs that have not started. */
typedef enum tide_executor_shutdown_mode {
  TIDE_EXECUTOR_DRAIN = 0, /* run every job already queued, and the jobs those jobs spawn */
  TIDE_EXECUTOR_CANCEL = 1 /* cancel every job not yet started; running jobs finish */
} tide_executor_shutdown_mode;

/* Options for tide_executor_new. Initialise with tide_executor_options_init, then set what you
 * need, so that fields added later get their defaults. */
typedef struct tide_executor_options {
  unsigned workers;         /* CPU worker threads; 0: the number of CPUs the process may use */
  unsigned max_searching;   /* workers looking for work at once; 0: half the workers (>= 1) */
  unsigned blocking_max;    /* most blocking-lane threads; 0: 64 */
  int64_t blocking_idle_ns; /* a blocking thread idle this long exits; 0: 10 s */
  int64_t spin_ns;          /* a searching worker keeps looking this long before it sleeps
                               (trades CPU for latency); 0: 50 us; negative: sleep at once */
} tide_executor_options;

/* A snapshot of an executor's counters (each read atomically, not all at one instant). */
typedef struct tide_executor_stats {
  unsigned workers;           /* CPU workers */
  unsigned searching;         /* workers looking for work now */
  unsigned parked;            /* workers asleep now */
  unsigned blocking_threads;  /* live blocking-lane threads */
  unsigned blocking_idle;     /* of which idle */
  uint64_t jobs_run;          /* jobs run by CPU workers */
  uint64_t blocking_jobs_run; /* jobs run by blocking-lane threads */
  uint64_t jobs_cancelled;    /* jobs ended without running */
  uint64_t steals;            /* jobs taken from another worker's deque */
  uint64_t parks;             /* times a worker went to sleep */
  uint64_t injected;          /* jobs submitted from outside the workers */
  size_t injection_depth;     /* jobs waiting in the injection queue */
  size_t local_depth;         /* jobs waiting in the workers' deques, summed */
  size_t blocking_depth;      /* jobs waiting for a blocking-lane thread */
} tide_executor_stats;

/* Fills *opts with the defaults. */
void tide_executor_options_init(tide_executor_options *opts);

/* Creates an executor and starts its workers (blocking-lane threads start on demand). `opts` may
 * be NULL for the defaults; it is copied. Returns 0, TIDE_EINVAL (out NULL, more than 4096
 * workers, or a negative blocking_idle_ns), TIDE_ENOMEM or TIDE_EAGAIN (the OS refused a
 * thread); on failure nothing is left running and *out is untouched. The caller owns the
 * executor until tide_executor_shutdown. */
int tide_executor_new(tide_executor **out, const tide_executor_options *opts);

/* Shuts the executor down and frees it. From the moment it is called, submissions from outside
 * the executor fail with TIDE_ECLOSED; jobs running on it may still spawn. Then:
 *   TIDE_EXECUTOR_DRAIN:  every queued job runs, and so does every job they spawn;
 *   TIDE_EXECUTOR_CANCEL: every job not yet started is cancelled (its join returns
 *                         TIDE_ECANCELED, its run_in_executor future is cancelled), including jobs
 *                         spawned from now on; running jobs run to their end.
 * Returns once every job has ended and every thread has exited: 0, TIDE_EINVAL (NULL or a bad
 * mode) or TIDE_EBUSY (called from one of the executor's own threads; nothing changes). Job
 * handles not yet joined stay valid: join or detach them afterwards. */
int tide_executor_shutdown(tide_executor *ex, tide_executor_shutdown_mode mode);

/* Submits fn(arg). flags: 0 (CPU work) or TIDE_JOB_BLOCKING. From a worker of `ex` the job goes
 * to that worker's deque, from anywhere else to the shared queue. With `out` non-NULL it
 * receives a handle the caller must later give to exactly one of tide_job_join or
 * tide_job_detach; with NULL the job is detached at once. Handles are recycled per worker, so
 * spawning from a worker allocates nothing in steady state. Returns 0, TIDE_EINVAL (ex or fn
 * NULL, unknown flags), TIDE_ENOMEM, or TIDE_ECLOSED (the executor is shutting down and the
 * caller is not one of its jobs). */
int tide_executor_spawn(tide_executor *ex, tide_job_fn fn, void *arg, unsigned flags,
                        tide_job **out);

/* Waits for the job to end and gives its handle back. Returns 0 and stores fn's result in
 * *result (result may be NULL) if it ran, TIDE_ECANCELED if it was cancelled before it started,
 * TIDE_EINVAL if job is NULL. On a worker of the job's executor the wait runs other jobs (the
 * worker's own deque first, then the shared queue, then steals), sleeping only briefly when
 * there are none; on any other thread it sleeps in the kernel. The handle is invalid afterwards. */
int tide_job_join(tide_job *job, void **result);

/* Cancels the job if it has not started: it will never run, and its join returns TIDE_ECANCELED.
 * Returns 0 (cancelled), TIDE_EALREADY (it is running or has ended: nothing changes) or
 * TIDE_EINVAL. The caller keeps the handle. Like every call on a handle, it must not overlap
 * the handle's join or detach (which give the handle back): another thread may cancel only if
 * that cancel happens before the join or detach begins. */
int tide_job_cancel(tide_job *job);

/* Gives the handle back without waiting: the job still runs (unless cancelled) and its result is
 * dropped. NULL is ignored. */
void tide_job_detach(tide_job *job);

/* Fills *out with the executor's counters. Returns 0 or TIDE_EINVAL. */
int tide_executor_stats_get(tide_executor *ex, tide_executor_stats *out);

/* The index (0 .. workers-1) of the calling thread among ex's CPU workers, or -1 if it is not
 * one of them (for instance a blocking-lane thread). */
int tide_executor_worker_index(const tide_executor *ex);

/* --- the bridge to a loop ------------------------------------------------------------------- */

/* asyncio's loop.run_in_executor: runs fn(arg) on `ex`'s CPU workers and stores in *out a future
 * of `loop` that settles, on the loop's thread, with fn's result. `ex` NULL means the loop's
 * default executor, created on first use with the default options and shut down by
 * tide_loop_close. Completions from many workers reach the loop in batches, one wake-up per
 * burst. While the job is in flight the loop stays alive (tide_loop_run does not return).
 *
 * Cancelling the future (directly, or by cancelling the task awaiting it) removes a job that has
 * not started: the future is cancelled at once. A job already running cannot be stopped: it runs
 * to its end, its result is dropped (tide never frees it: if fn returns memory, hand ownership
 * back through `arg` instead), and the future is cancelled then — not before, so that `arg`, which
 * may live on the awaiting task's stack, is never written after the await has returned
 * (DESIGN.md principle 3). tide_loop_close cancels every job in flight and waits for the running
 * ones to end for the same reason.
 *
 * The caller owns one reference to *out. Returns 0, TIDE_EINVAL (loop, fn or out NULL),
 * TIDE_ENOMEM, TIDE_ECLOSED (the loop is closing, or `ex` is shutting down) or the error of
 * creating the default executor. Loop thread only. The executor must outlive the job. */
int tide_run_in_executor(tide_loop *loop, tide_executor *ex, tide_job_fn fn, void *arg,
                         tide_future **out);

/* The same on the executor's blocking lane: for calls that block (sync drivers, getaddrinfo,
 * file I/O), which must not occupy a CPU worker. */
int tide_run_blocking(tide_loop *loop, tide_executor *ex, tide_job_fn fn, void *arg,
                      tide_future **out);

/* The loop's default executor, created on first use (TIDE_ECLOSED once the loop is closing).
 * The loop keeps ownership. Returns 0 or an error of tide_executor_new. Loop thread only. */
int tide_loop_default_executor(tide_loop *loop, tide_executor **out);

#ifdef __cplusplus
}
#endif
#endif
