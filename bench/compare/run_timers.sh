#!/usr/bin/env bash
# bench/compare/run_timers.sh — builds the timer comparison programs (tide, libev, libuv,
# libevent; see workload.h for the workloads) and runs them interleaved, then prints medians and
# tide's ratios to each peer.
#
# Why interleaved: on a shared, noisy machine a burst of background load lands on whichever
# program happens to run then. Running round-robin (every program once per round, the order
# rotated each round) spreads that noise over all libraries instead of handing it to one, and the
# median over rounds drops the outliers. Figures are CPU time (user + sys, from getrusage inside
# each program), never wall time, and the claim is always a ratio of medians.
#
# Usage: bench/compare/run_timers.sh [-r ROUNDS] [-B BUILD_DIR] [-c CPU] [-o RAW] [-q] [-n]
#   -r ROUNDS     rounds (default 5; env ROUNDS)
#   -B BUILD_DIR  build directory (default <repo>/build-bench; configured RelWithDebInfo)
#   -c CPU        pin every run to this CPU with taskset (default: no pinning)
#   -o RAW        also keep the raw result lines in this file
#   -q            quick smoke run with counts 10x smaller (figures not comparable to defaults)
#   -n            do not (re)build; use what BUILD_DIR holds
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../script_common.sh
source "$here/../script_common.sh"
compare_setup run_timers.sh "$@"

bin_dir="$build_dir/bench/compare"
if [[ ! -f $bin_dir/peers.txt ]]; then
  echo "run_timers.sh: $bin_dir/peers.txt is missing; build first (drop -n)" >&2
  exit 1
fi
libs=()
for lib in tide libev libuv libevent; do
  if grep -qx "$lib" "$bin_dir/peers.txt"; then
    libs+=("$lib")
  else
    echo "== $lib: not found when configuring (see cmake's output); skipped" >&2
  fi
done

# Workload arguments: none means the defaults in workload.h.
declare -A args=([fire]="" [reset]="")
if ((quick)); then
  args=([fire]="100000" [reset]="10000 500000")
fi
runner=()
if [[ -n $cpu ]]; then
  runner=(taskset -c "$cpu")
fi

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
failures=0
n=${#libs[@]}
for ((round = 1; round <= rounds; round++)); do
  echo "== round $round/$rounds" >&2
  for workload in fire reset; do
    for ((i = 0; i < n; i++)); do
      lib=${libs[$(((i + round - 1) % n))]} # rotate the starting program every round
      # shellcheck disable=SC2086 # the argument list is meant to split
      if line=$("${runner[@]}" "$bin_dir/tide_compare_${workload}_${lib}" ${args[$workload]}); then
        echo "$line round=$round" >>"$raw"
      else
        echo "!! $lib $workload failed (exit $?): $line" >&2
        failures=$((failures + 1))
      fi
    done
  done
done
if [[ -n $raw_out ]]; then
  cp "$raw" "$raw_out"
fi

echo
echo "Timer comparison: median of $rounds interleaved rounds$( ((quick)) && echo ', QUICK counts')"
echo "  cpu = user+sys seconds of the whole workload; peak = ru_maxrss; B/timer = resident growth"
echo "  across arming / timers (timer struct + library heap). ratio = tide's median / peer's median."
awk '
  function median(list,   v, k, i, j, t, m) {
    m = split(list, v, " ")
    for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  }
  function field(name,   i, kv) {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
  }
  {
    key = field("workload") SUBSEP field("lib")
    cpu[key] = cpu[key] " " field("cpu_s"); rss[key] = rss[key] " " field("maxrss_kb")
    bpt[key] = bpt[key] " " field("bytes_per_timer"); runs[key]++
    link[field("lib")] = field("link"); ops[field("workload")] = field("timers") " timers, " field("ops") " ops"
    if (min[key] == "" || field("cpu_s") + 0 < min[key]) min[key] = field("cpu_s") + 0
    if (max[key] == "" || field("cpu_s") + 0 > max[key]) max[key] = field("cpu_s") + 0
  }
  END {
    nl = split("tide libev libuv libevent", libs, " ")
    nw = split("fire reset", wls, " ")
    for (w = 1; w <= nw; w++) {
      wl = wls[w]
      if (!((wl SUBSEP "tide") in runs)) continue
      printf "\n%s (%s)\n", wl, ops[wl]
      printf "  %-9s %-6s %4s %9s %17s %9s %8s %10s %10s\n", "lib", "link", "runs", "cpu_s", "cpu min..max", "peak_MiB", "B/timer", "cpu ratio", "mem ratio"
      t = wl SUBSEP "tide"
      tc = median(cpu[t]); tb = median(bpt[t])
      for (l = 1; l <= nl; l++) {
        k = wl SUBSEP libs[l]
        if (!(k in runs)) continue
        c = median(cpu[k]); b = median(bpt[k])
        cr = libs[l] == "tide" ? "-" : sprintf("%.2f", tc / c)
        mr = libs[l] == "tide" ? "-" : sprintf("%.2f", tb / b)
        printf "  %-9s %-6s %4d %9.3f %8.3f..%-8.3f %9.1f %8.1f %10s %10s\n", libs[l], link[libs[l]], runs[k], c, min[k], max[k], median(rss[k]) / 1024, b, cr, mr
      }
    }
    print ""
    print "Targets (issue 2): cpu ratio <= 0.80 vs libev and <= 0.25 vs libuv; B/timer <= libev."
  }
' "$raw"
if ((failures)); then
  echo "$failures run(s) failed; their figures are missing above" >&2
  exit 1
fi
