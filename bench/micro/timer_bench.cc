// bench/micro/timer_bench.cc — caller-owned timers: start + stop, and reset, on the loop's heap.
//
// The heap's cost depends on how full it is, so each benchmark takes the number of timers
// already armed ("background") as its argument: 0 measures the fixed overhead of the calls, 10k
// and 100k a server's worth of idle timeouts. Background timers get deadlines spread over
// 10..20 s and the timer under test cycles through 1024 pre-drawn delays from the same range, so
// it lands at the depths a real timeout would, not always at the bottom or always at the root.
// The loop never runs, so nothing fires.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "loop_fixture.h"
#include "tide.h"

namespace {

constexpr int64_t kNsPerMs = 1000000;
constexpr size_t kDelayCycle = 1024; // a power of two: the index wraps with a mask

void never_called(tide_timer *, void *) {}

// Pseudo-random delays in 10..20 s, deterministic across runs (an LCG is plenty for spreading
// deadlines; the sequence only has to be the same every time).
std::vector<int64_t> spread_delays(size_t n, uint64_t seed) {
  std::vector<int64_t> delays(n);
  uint64_t x = seed;
  for (auto &d : delays) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    d = (10000 + static_cast<int64_t>((x >> 33) % 10001)) * kNsPerMs;
  }
  return delays;
}

// Arms `n` background timers; the caller stops them (stop_all) before the loop closes.
std::vector<tide_timer> arm_background(benchmark::State &state, tide_loop *loop, size_t n) {
  std::vector<tide_timer> timers(n);
  std::vector<int64_t> delays = spread_delays(n, 1);
  for (size_t i = 0; i < n; i++) {
    if (tide_timer_init(&timers[i], never_called, nullptr) != 0 ||
        tide_timer_start(loop, &timers[i], delays[i], 0) != 0) {
      state.SkipWithError("arming the background timers failed");
      break;
    }
  }
  return timers;
}

void stop_all(tide_loop *loop, std::vector<tide_timer> &timers) {
  for (auto &t : timers)
    tide_timer_stop(loop, &t);
}

// Arms a timer and disarms it again: the cost of a timeout that is cancelled before it fires
// (the common case for a request that completes in time).
void BM_timer_start_stop(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  std::vector<tide_timer> background = arm_background(state, loop.get(), state.range(0));
  std::vector<int64_t> delays = spread_delays(kDelayCycle, 2);
  tide_timer timer;
  tide_timer_init(&timer, never_called, nullptr);
  size_t i = 0;
  for (auto _ : state) {
    tide_timer_start(loop.get(), &timer, delays[i++ & (kDelayCycle - 1)], 0);
    tide_timer_stop(loop.get(), &timer);
  }
  state.SetItemsProcessed(state.iterations());
  stop_all(loop.get(), background);
}
BENCHMARK(BM_timer_start_stop)->Arg(0)->Arg(10000)->Arg(100000);

// Pushes back an armed timer's deadline: the idle-timeout pattern (one in-place heap move).
void BM_timer_reset(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  std::vector<tide_timer> background = arm_background(state, loop.get(), state.range(0));
  std::vector<int64_t> delays = spread_delays(kDelayCycle, 3);
  tide_timer timer;
  tide_timer_init(&timer, never_called, nullptr);
  tide_timer_start(loop.get(), &timer, delays[0], 0);
  size_t i = 0;
  for (auto _ : state)
    tide_timer_reset(loop.get(), &timer, delays[i++ & (kDelayCycle - 1)]);
  state.SetItemsProcessed(state.iterations());
  tide_timer_stop(loop.get(), &timer);
  stop_all(loop.get(), background);
}
BENCHMARK(BM_timer_reset)->Arg(0)->Arg(10000)->Arg(100000);

} // namespace
