// bench/micro/context_bench.cc — the cost of switching stacks (core/context), under the task layer.
//
// BM_context_switch_round_trip: the loop's stack switches into a fiber and the fiber switches
// straight back: two switches per iteration, the suspend + resume pair of every await that really
// waits. The "per_switch" counter is the time of one switch (half a round trip). The figure is for
// whichever implementation the build chose (TIDE_CONTEXT=asm or ucontext); the label says which.
//
// BM_context_make_run_finish: a context made on a reused stack, switched into, and finished with
// tide__context_switch_final: what spawning and finishing a trivial task costs in this layer, on
// top of which the task layer adds its own bookkeeping.
//
// Needs the project's source root on the include path (internal headers).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "core/context/context.h"
#include "core/sys/stack.h"
#include "tide.h"

namespace {

#if defined(TIDE_CONTEXT_UCONTEXT)
const char *const kImplementation = "ucontext";
#else
const char *const kImplementation = "asm";
#endif

constexpr size_t kStackSize = 64 * 1024;

struct PingPong {
  tide__context main_ctx;
  tide__context fiber_ctx;
  bool stop = false;
};

void ping_pong_fiber(void *arg) {
  PingPong *pp = static_cast<PingPong *>(arg);
  while (!pp->stop)
    tide__context_switch(&pp->fiber_ctx, &pp->main_ctx);
  tide__context_switch_final(&pp->fiber_ctx, &pp->main_ctx);
}

void BM_context_switch_round_trip(benchmark::State &state) {
  tide__stack stack;
  int err = tide__stack_alloc(&stack, kStackSize);
  if (err != 0) {
    state.SkipWithError(tide_err_name(err));
    return;
  }
  PingPong pp;
  tide__context_init_current(&pp.main_ctx);
  tide__context_make(&pp.fiber_ctx, stack.base, stack.size, ping_pong_fiber, &pp);
  for (auto _ : state)
    tide__context_switch(&pp.main_ctx, &pp.fiber_ctx);
  pp.stop = true;
  tide__context_switch(&pp.main_ctx, &pp.fiber_ctx);
  tide__stack_free(&stack);
  state.counters["per_switch"] = benchmark::Counter(
      2, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetLabel(kImplementation);
}
BENCHMARK(BM_context_switch_round_trip);

struct Trivial {
  tide__context main_ctx;
  tide__context fiber_ctx;
  int64_t runs = 0;
};

void trivial_fiber(void *arg) {
  Trivial *t = static_cast<Trivial *>(arg);
  t->runs++;
  tide__context_switch_final(&t->fiber_ctx, &t->main_ctx);
}

void BM_context_make_run_finish(benchmark::State &state) {
  tide__stack stack;
  int err = tide__stack_alloc(&stack, kStackSize);
  if (err != 0) {
    state.SkipWithError(tide_err_name(err));
    return;
  }
  Trivial t;
  tide__context_init_current(&t.main_ctx);
  for (auto _ : state) {
    tide__context_make(&t.fiber_ctx, stack.base, stack.size, trivial_fiber, &t);
    tide__context_switch(&t.main_ctx, &t.fiber_ctx);
  }
  if (t.runs != static_cast<int64_t>(state.iterations()))
    state.SkipWithError("a fiber did not run");
  tide__stack_free(&stack);
  state.SetLabel(kImplementation);
}
BENCHMARK(BM_context_make_run_finish);

} // namespace
