/* core/executor/bridge.h — the loop's side of run_in_executor (internal). */
#ifndef TIDE_EXECUTOR_BRIDGE_H
#define TIDE_EXECUTOR_BRIDGE_H

#include <stdint.h>

#include "tide/loop.h"

/* Called by run_posted (loop thread) after it cleared the loop's wake flag: takes every
 * run_in_executor completion pushed so far and settles their futures. Does nothing on a loop
 * that never used the executor. */
void tide__executor_run_completions(tide_loop *loop);

/* Loop thread, when the loop is about to block in its poll: how long it should spin waiting for
 * a wake first (0: not at all). Nonzero only while jobs are in flight on CPU workers, and backed
 * off after spins that ended empty-handed. */
int64_t tide__executor_spin_ns(tide_loop *loop);

/* Loop thread: how the spin granted by tide__executor_spin_ns ended (woken: 1 if a wake came). */
void tide__executor_spin_ended(tide_loop *loop, int woken);

/* Called by tide_loop_close (loop thread), after the tasks were cancelled and before the inbox
 * closes: cancels every run_in_executor job still in flight, waits until every one of them has
 * ended and pushed its completion (a running job is waited for: its argument may live on a task
 * stack the close is about to free), and shuts down the loop's default executor. The completions
 * are then delivered by the close's drain, which frees the bridge with the last of them. Does
 * nothing on a loop that never used the executor. */
void tide__executor_loop_close(tide_loop *loop);

#endif
