/* bench/compare/prng.h — the seeded pseudo-random sequence every comparison program draws from.
 *
 * Each peer program must see the very same timeouts and the very same reset targets, or the
 * comparison measures the dice instead of the libraries. So the generator lives here, once, and
 * is fully determined by its seed: no rand() (its sequence differs between C libraries) and no
 * global state. The algorithm is SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): one add and
 * two multiply-xorshift rounds per draw, a few nanoseconds, so it adds the same small constant to
 * every program and never dominates what is being measured. */
#ifndef TIDE_BENCH_PRNG_H
#define TIDE_BENCH_PRNG_H

#include <stdint.h>

typedef struct bench_prng {
  uint64_t state;
} bench_prng;

static inline bench_prng bench_prng_seeded(uint64_t seed) {
  bench_prng p = {seed};
  return p;
}

/* The next 64 pseudo-random bits. */
static inline uint64_t bench_prng_next(bench_prng *p) {
  uint64_t z = (p->state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A value in [lo, hi], lo <= hi. The modulo bias (under 2^-40 for the ranges used here) is the
 * same in every program, which is all that matters. */
static inline uint64_t bench_prng_range(bench_prng *p, uint64_t lo, uint64_t hi) {
  return lo + bench_prng_next(p) % (hi - lo + 1);
}

#endif
