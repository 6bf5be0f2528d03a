#!/bin/sh
# bench/executor/run.sh — runs the executor benchmarks interleaved and prints medians and ratios.
#
#   bench/executor/run.sh <dir with the built programs> [rounds] [fib n]
#
# Build first (Release), e.g. from the repository root:
#   cmake --preset bench && cmake --build build/bench --target tide_bench_executor
#   bench/executor/run.sh build/bench/bench/executor 7
#
# Each round runs every program once, one after the other (tide, then each peer), so that slow
# drifts of the machine (other load, frequency) hit all of them alike; the table shows each
# program's median over the rounds and the ratio tide / peer (lower is better for times, higher
# for throughputs). Every program warms up (threads started, pools filled) before its timed run.
set -eu

dir=${1:?usage: run.sh <dir with the built programs> [rounds] [fib n]}
rounds=${2:-7}
fib_n=${3:-32}
rt_jobs=${RT_JOBS:-20000}
tp_jobs=${TP_JOBS:-200000}
spawn_jobs=${SPAWN_JOBS:-1000000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

have() { [ -x "$dir/$1" ]; }

# run <key> <program> <args...>: appends "<key> <number>" (the 4th field of the program's line).
run() {
  key=$1
  shift
  if have "$1"; then
    line=$("$dir/$@")
    echo "$key $(echo "$line" | awk '{print $3}')" >>"$out"
  fi
}

echo "executor benchmarks: $rounds interleaved rounds, fib($fib_n), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  run fib_tide fib_tide "$fib_n"
  run fib_tbb fib_tbb "$fib_n"
  run fib_omp fib_omp "$fib_n"
  run fib_seq fib_seq "$fib_n"
  run rt1_tide roundtrip_tide 1 "$rt_jobs"
  run rt1_libuv roundtrip_libuv 1 "$rt_jobs"
  run rt64_tide roundtrip_tide 64 "$tp_jobs"
  run rt64_libuv roundtrip_libuv 64 "$tp_jobs"
  run spawn_out spawn_tide outside "$spawn_jobs"
  run spawn_in spawn_tide inside "$spawn_jobs"
  printf '.' >&2
done
echo >&2

median() {
  grep "^$1 " "$out" | awk '{print $2}' | sort -g |
    awk '{v[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }

fib_tide=$(median fib_tide); fib_tbb=$(median fib_tbb); fib_omp=$(median fib_omp); fib_seq=$(median fib_seq)
rt1_tide=$(median rt1_tide); rt1_uv=$(median rt1_libuv)
rt64_tide=$(median rt64_tide); rt64_uv=$(median rt64_libuv)
printf '\n%-44s %14s %14s %10s\n' "workload" "tide" "peer" "tide/peer"
printf '%-44s %11s ms %11s ms %10s\n' "fork-join fib($fib_n), job per call vs oneTBB" "$fib_tide" "$fib_tbb" "$(ratio "$fib_tide" "$fib_tbb")"
printf '%-44s %11s ms %11s ms %10s\n' "  vs OpenMP tasks (libgomp)" "$fib_tide" "$fib_omp" "$(ratio "$fib_tide" "$fib_omp")"
printf '%-44s %11s ms %11s ms %10s\n' "  vs sequential fib" "$fib_tide" "$fib_seq" "$(ratio "$fib_tide" "$fib_seq")"
printf '%-44s %11s us %11s us %10s\n' "round trip, 1 in flight vs uv_queue_work" "$rt1_tide" "$rt1_uv" "$(ratio "$rt1_tide" "$rt1_uv")"
printf '%-44s %8s jobs/s %8s jobs/s %10s\n' "throughput, 64 in flight vs uv_queue_work" "$rt64_tide" "$rt64_uv" "$(ratio "$rt64_tide" "$rt64_uv")"
printf '%-44s %7s Mjobs/s\n' "spawn of empty jobs from outside the pool" "$(median spawn_out)"
printf '%-44s %7s Mjobs/s\n' "spawn of empty jobs from inside (a worker)" "$(median spawn_in)"
