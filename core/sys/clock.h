/* core/sys/clock.h — the monotonic clock the loop caches once per tick. */
#ifndef TIDE_SYS_CLOCK_H
#define TIDE_SYS_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds from an unspecified origin; never goes backwards. Any thread. */
int64_t tide__clock_now_ns(void);

#endif
