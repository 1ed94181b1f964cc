/* clock.h: the one clock for ages and deadlines: monotonic milliseconds. */
#ifndef ONLOAN_CORE_CLOCK_H
#define ONLOAN_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The same in microseconds: for durations shorter than a millisecond
 * (a request's, /metrics). */
static inline uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Seconds on the monotonic clock since t0 (taken with clock_gettime
 * CLOCK_MONOTONIC): for the CLI's figures, finer than milliseconds. */
static inline double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#endif
