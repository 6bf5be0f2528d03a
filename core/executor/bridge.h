/* core/executor/bridge.h — the loop's side of run_in_executor (internal). */
#ifndef TIDE_EXECUTOR_BRIDGE_H
#define TIDE_EXECUTOR_BRIDGE_H

#include "tide/loop.h"

/* Called by tide_loop_close (loop thread), after the tasks were cancelled and before the inbox
 * closes: cancels every run_in_executor job still in flight, waits until every one of them has
 * ended and posted its completion (a running job is waited for: its argument may live on a task
 * stack the close is about to free), and shuts down the loop's default executor. The completions
 * are then delivered by the close's drain, which frees the bridge with the last of them. Does
 * nothing on a loop that never used the executor. */
void tide__executor_loop_close(tide_loop *loop);

#endif
