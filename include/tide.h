/* tide.h — asynchronous I/O for C11: an event loop, futures, timers (and, as they arrive, tasks,
 * I/O and an executor). This is the one header users include; it pulls in the parts below.
 *
 * Conventions for every function in tide:
 *   - a call that can fail returns 0 (or a documented positive value) on success and a negative
 *     TIDE_E* code on failure (tide/error.h); bad arguments give TIDE_EINVAL, never a crash;
 *   - a loop and everything on it is used from the loop's own thread unless a function says
 *     "any thread";
 *   - times are int64_t nanoseconds.
 */
#ifndef TIDE_H
#define TIDE_H

#define TIDE_VERSION_MAJOR 0
#define TIDE_VERSION_MINOR 1
#define TIDE_VERSION_PATCH 0

#include "tide/error.h"
#include "tide/loop.h"
#include "tide/future.h"
#include "tide/timer.h"
#include "tide/task.h"
#include "tide/combine.h"
#include "tide/group.h"
#include "tide/sync.h"
#include "tide/executor.h"
#include "tide/net.h"

#endif
