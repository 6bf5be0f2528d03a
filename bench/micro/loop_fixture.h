// bench/micro/loop_fixture.h — a tide loop owned for the length of one benchmark.
//
// Each benchmark creates its own loop so that pools and the timer heap start from the same state
// in every run, and closes it afterwards so a leak shows up as tide's close-time report on
// stderr rather than passing silently. Failing to create the loop skips the benchmark with the
// error's name instead of measuring nothing.
#ifndef TIDE_BENCH_LOOP_FIXTURE_H
#define TIDE_BENCH_LOOP_FIXTURE_H

#include <benchmark/benchmark.h>

#include "tide.h"

class LoopFixture {
public:
  // Creates the loop; on failure ok() is false and the benchmark has been told to skip.
  explicit LoopFixture(benchmark::State &state) {
    int err = tide_loop_new(&loop_, nullptr);
    if (err != 0) {
      loop_ = nullptr;
      state.SkipWithError(tide_err_name(err));
    }
  }
  ~LoopFixture() {
    if (loop_ != nullptr)
      tide_loop_close(loop_);
  }
  LoopFixture(const LoopFixture &) = delete;
  LoopFixture &operator=(const LoopFixture &) = delete;

  bool ok() const {
    return loop_ != nullptr;
  }
  tide_loop *get() const {
    return loop_;
  }

private:
  tide_loop *loop_ = nullptr;
};

#endif
