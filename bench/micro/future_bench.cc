// bench/micro/future_bench.cc — a future's whole life: new, on_done, resolve, dispatch, release.
//
// Done-callbacks run in a later tick, never inside resolve, so the benchmark runs the tick that
// dispatches them (tide_loop_run_once(loop, 0)). The argument is how many futures share one tick:
// 1 shows the cost a lone future pays including the tick (whose floor is the poller's syscall,
// see loop_bench.cc), larger batches show the per-future cost with the tick amortised.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "loop_fixture.h"
#include "tide.h"

namespace {

void count_done(tide_future *, void *arg) {
  ++*static_cast<int64_t *>(arg);
}

void BM_future_resolve_dispatch(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  const int64_t batch = state.range(0);
  int64_t done = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; i++) {
      tide_future *f;
      if (tide_future_new(loop.get(), &f) != 0) {
        state.SkipWithError("tide_future_new failed");
        return;
      }
      tide_future_on_done(f, count_done, &done);
      tide_future_resolve(f, nullptr);
      tide_future_release(f); // the pending dispatch holds its own reference
    }
    tide_loop_run_once(loop.get(), 0);
  }
  if (done != state.iterations() * batch)
    state.SkipWithError("not every done-callback ran");
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_future_resolve_dispatch)->Arg(1)->Arg(64)->Arg(1024);

} // namespace
