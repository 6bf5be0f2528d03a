// bench/micro/task_bench.cc — what tasks cost: spawn + run + finish, a yield round trip, and a
// future awaited by a task and resolved by a callback (the await round trip).
//
// Spawning is measured in batches (the argument): 1 is a task spawned and run to completion
// before the next, reusing one pooled stack (the "trivial task with a pooled stack");
// larger batches keep that many stacks in play, which is what a burst of spawns costs.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "loop_fixture.h"
#include "tide.h"

namespace {

int trivial(tide_loop *, void *, void **) {
  return 0;
}

void BM_task_spawn_run_finish(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; i++) {
      if (tide_spawn(loop.get(), trivial, nullptr, nullptr, nullptr) != 0) {
        state.SkipWithError("tide_spawn failed");
        return;
      }
    }
    tide_loop_run_once(loop.get(), 0);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_task_spawn_run_finish)->Arg(1)->Arg(64)->Arg(1024);

struct yield_count {
  int64_t left;
};

int yield_until_done(tide_loop *loop, void *arg, void **) {
  auto *count = static_cast<yield_count *>(arg);
  while (count->left-- > 0)
    tide_yield(loop);
  return 0;
}

// One task yielding: each iteration is suspend + the loop's tick + resume.
void BM_task_yield_round_trip(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  yield_count count{static_cast<int64_t>(state.max_iterations)};
  tide_spawn(loop.get(), yield_until_done, &count, nullptr, nullptr);
  tide_loop_run_once(loop.get(), 0); // the task starts and yields for the first time
  for (auto _ : state)
    tide_loop_run_once(loop.get(), 0);
  count.left = 0;
  tide_loop_run(loop.get());
}
BENCHMARK(BM_task_yield_round_trip);

struct ping {
  tide_future *pending = nullptr;
  int64_t left = 0;
};

int await_many(tide_loop *loop, void *arg, void **) {
  auto *p = static_cast<ping *>(arg);
  while (p->left-- > 0) {
    if (tide_future_new(loop, &p->pending) != 0)
      return TIDE_ENOMEM;
    tide_await(p->pending, nullptr);
    tide_future_release(p->pending);
    p->pending = nullptr;
  }
  return 0;
}

// A task awaits a fresh future; the benchmark resolves it from outside the task and runs the
// tick that resumes the task: new + await (suspend) + resolve + dispatch + resume + release.
void BM_task_future_await_round_trip(benchmark::State &state) {
  LoopFixture loop(state);
  if (!loop.ok())
    return;
  ping p;
  p.left = static_cast<int64_t>(state.max_iterations) + 1;
  tide_spawn(loop.get(), await_many, &p, nullptr, nullptr);
  tide_loop_run_once(loop.get(), 0); // the task starts and awaits its first future
  for (auto _ : state) {
    tide_future_resolve(p.pending, nullptr);
    tide_loop_run_once(loop.get(), 0);
  }
  p.left = 0;
  if (p.pending != nullptr)
    tide_future_resolve(p.pending, nullptr);
  tide_loop_run(loop.get());
}
BENCHMARK(BM_task_future_await_round_trip);

} // namespace
