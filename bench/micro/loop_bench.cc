// bench/micro/loop_bench.cc — the loop's own overheads: call_soon dispatch and an idle tick.
//
// An idle tick is what every turn of a loop pays before doing anything useful: it is measured
// with a tide_loop_ref hold (the loop is alive, as a server's is) and without one (nothing keeps
// the loop alive), and beside it the floor that no loop can go under on Linux, a bare
// epoll_wait(0) on an empty epoll set, so the loop's own share can be read off the difference.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "loop_fixture.h"
#include "tide.h"

#ifdef __linux__
#include <sys/epoll.h>
#include <unistd.h>
#endif

namespace {

void count_call(void *arg) {
  ++*static_cast<int64_t *>(arg);
}

// N tide_call_soon, then the one tick that runs them all.
void BM_call_soon_dispatch(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  const int64_t batch = state.range(0);
  int64_t calls = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; i++)
      tide_call_soon(loop.get(), count_call, &calls);
    tide_loop_run_once(loop.get(), 0);
  }
  if (calls != state.iterations() * batch)
    state.SkipWithError("not every call_soon callback ran");
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_call_soon_dispatch)->Arg(1)->Arg(64)->Arg(1024);

// One tick with nothing to do. Argument 1: a tide_loop_ref hold keeps the loop alive; 0: none.
void BM_idle_tick(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  const bool hold = state.range(0) != 0;
  if (hold)
    tide_loop_ref(loop.get());
  for (auto _ : state)
    benchmark::DoNotOptimize(tide_loop_run_once(loop.get(), 0));
  if (hold)
    tide_loop_unref(loop.get());
}
BENCHMARK(BM_idle_tick)->ArgName("ref")->Arg(1)->Arg(0);

#ifdef __linux__
// The floor under any idle tick: one non-blocking epoll_wait on an empty set.
void BM_floor_epoll_wait_zero(benchmark::State &state) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    state.SkipWithError("epoll_create1 failed");
    return;
  }
  struct epoll_event events[8];
  for (auto _ : state)
    benchmark::DoNotOptimize(epoll_wait(epfd, events, 8, 0));
  close(epfd);
}
BENCHMARK(BM_floor_epoll_wait_zero);
#endif

} // namespace
