/* core/loop_internal.h — the loop's state, shared by the core's files (never by users). */
#ifndef TIDE_LOOP_INTERNAL_H
#define TIDE_LOOP_INTERNAL_H

#include "core/sys/atomic.h"
#include <stdint.h>

#include "backends/backend.h"
#include "core/context/context.h"
#include "core/sys/stack.h"
#include "core/inbox.h"
#include "core/pool.h"
#include "core/ready_queue.h"
#include "core/timer_heap.h"
#include "tide/loop.h"

struct tide_loop {
  /* Touched every tick. */
  int64_t now;
  tide__ready_queue ready;
  tide__timer_heap timers;
  uint64_t timer_seq;      /* next timer sequence number: orders equal deadlines */
  size_t keepalive_timers; /* armed timers that keep tide_loop_run going */
  size_t pending_ops;      /* submitted, not yet completed */
  tide__backend *backend;
  atomic_int wake_pending; /* 1 while a post or wake is unseen: further wakes are skipped;
                              2 while the loop spins for a wake (loop.c) */
  atomic_int stop_requested;
  unsigned busy_ticks; /* consecutive ticks that left callbacks ready (see should_poll) */

  /* Cold. */
  unsigned refs; /* tide_loop_ref holds */
  int running;   /* inside tide_loop_run / run_once: loops do not nest */
  int closing;   /* tide_loop_close has begun: no new ops or timer futures */
  tide__inbox inbox;
  tide__posted_batch posted; /* the inbox batch being run; its array is recycled */
  tide__pool ready_pool;     /* tide__ready nodes for tide_call_soon */
  tide__pool future_pool;
  tide__pool done_pool;  /* done-callbacks beyond a future's first */
  tide__pool sleep_pool; /* tide_sleep_future's timer + future pairs */
  tide__pool op_pool;
  tide__pool handle_pool;            /* streams, listeners, UDP sockets (core/net.c) */
  struct tide__handle *open_handles; /* handles not yet closed by their user */
  tide_loop_options options;

  /* Tasks (task.c). */
  struct tide__task *current_task; /* the task on the CPU, or NULL on the loop's own stack */
  struct tide__task *live_tasks;   /* every unfinished task, for close and dumps */
  struct tide__task *done_tasks;   /* finished tasks whose futures are still referenced */
  tide__context scheduler;         /* the loop's own stack, saved while a task runs */
  tide__stack *stack_cache;        /* default-size stacks of finished tasks, for reuse */
  size_t stack_cache_count;
  size_t stack_cache_capacity;
  size_t stack_cache_low;     /* the fewest cached since the last trim: those sat unused */
  int64_t stack_trim_at;      /* loop time of the next trim (task.c) */
  int64_t task_step_ns_total; /* time spent in task steps, when slow-step detection is on */

  struct tide__bridge *executor_bridge; /* run_in_executor state (core/executor/bridge.c) */
};

/* Formats a message and sends it to the loop's log hook. */
void tide__loop_log(tide_loop *loop, tide_log_level level, const char *format, ...)
#if defined(__MINGW32__) && !defined(__clang__) /* mingw C99 stdio; clang has no gnu_printf */
    __attribute__((format(gnu_printf, 3, 4)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Schedules an embedded ready node (never fails; the node must not already be queued). */
static inline void tide__loop_schedule(tide_loop *loop, tide__ready *node) {
  tide__ready_queue_push(&loop->ready, node);
}

/* The size of a timer future's private state, for the loop's sleep_pool (timer.c). */
size_t tide__sleep_op_size(void);

/* Fires the timers that are due at loop->now (timer.c). */
void tide__timers_fire(tide_loop *loop);

/* Cancels every pending timer future and disarms every user timer, reporting the latter; used by
 * tide_loop_close (timer.c). Returns the number of user timers that were still armed. */
size_t tide__timers_close(tide_loop *loop);

#endif
