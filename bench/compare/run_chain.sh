#!/usr/bin/env bash
# bench/compare/run_chain.sh — builds the chain comparison programs (libevent's bench.c workload,
# see chain.h: tide with tasks, tide with callbacks, libev, libuv, libevent and the bare-epoll
# floor) and runs them interleaved over a small matrix of pipes/active/writes, then prints medians
# and tide's ratios to each program per matrix row.
#
# Why interleaved: on a shared, noisy machine a burst of background load lands on whichever
# program happens to run then. Running round-robin (every program once per round, the order
# rotated each round) spreads that noise over all libraries instead of handing it to one, and the
# median over rounds drops the outliers. Each program already reports the median over its own
# iterations; the table shows the median of those over rounds. Figures are CPU time (user + sys,
# from getrusage inside each program) per iteration, and the claim is always a ratio of medians.
#
# Usage: bench/compare/run_chain.sh [-r ROUNDS] [-B BUILD_DIR] [-c CPU] [-o RAW] [-q] [-n]
#   -r ROUNDS     rounds (default 5; env ROUNDS)
#   -B BUILD_DIR  build directory (default <repo>/build-bench; configured RelWithDebInfo)
#   -c CPU        pin every run to this CPU with taskset (default: no pinning)
#   -o RAW        also keep the raw result lines in this file
#   -q            quick smoke run with 10x fewer writes and 3 iterations (figures not comparable)
#   -n            do not (re)build; use what BUILD_DIR holds
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../script_common.sh
source "$here/../script_common.sh"
compare_setup run_chain.sh "$@"

bin_dir="$build_dir/bench/compare"
if [[ ! -f $bin_dir/chain_programs.txt ]]; then
  echo "run_chain.sh: $bin_dir/chain_programs.txt is missing; build first (drop -n)" >&2
  exit 1
fi
libs=()
for lib in tide tide_cb libev libuv libevent epoll; do
  if grep -qx "$lib" "$bin_dir/chain_programs.txt"; then
    libs+=("$lib")
  else
    echo "== $lib: not built in this configuration (see cmake's output); skipped" >&2
  fi
done

# The matrix: "pipes active writes iterations". 9000 pairs rather than 10,000: a pair is two
# descriptors, and 20,000 (a common hard RLIMIT_NOFILE) leaves no room for the loop's own. The
# write counts keep the slowest program's run near or under a second (the 9000-pair rows pay
# for 9000 registrations per iteration on top of the writes).
rows=("1000 100 50000 5" "9000 100 20000 5" "9000 1 20000 5")
if ((quick)); then
  rows=("1000 100 5000 3" "9000 100 2000 3" "9000 1 2000 3")
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
  echo "== round $round/$rounds (load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'))" >&2
  for row in "${rows[@]}"; do
    read -r pipes active writes iterations <<<"$row"
    for ((i = 0; i < n; i++)); do
      lib=${libs[$(((i + round - 1) % n))]} # rotate the starting program every round
      if line=$("${runner[@]}" "$bin_dir/tide_compare_chain_$lib" -n "$pipes" -a "$active" \
        -w "$writes" -i "$iterations"); then
        echo "$line round=$round" >>"$raw"
      else
        echo "!! $lib chain $row failed (exit $?): $line" >&2
        failures=$((failures + 1))
      fi
    done
  done
done
if [[ -n $raw_out ]]; then
  cp "$raw" "$raw_out"
fi

echo
echo "Chain comparison (libevent's bench.c): median of $rounds interleaved rounds$( ((quick)) && echo ', QUICK counts')"
echo "  cpu = user+sys ms per iteration (register P readers, write A bytes, run until A+W bytes"
echo "  are read, unregister), each run's median over its iterations; loop = the part between"
echo "  registering and unregistering; setup = cpu - loop; us/byte = cpu / (A + W)."
echo "  tide/x = tide's median cpu / x's (below 1: tide is cheaper); tide_cb/x likewise."
awk -v order="${libs[*]}" '
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
    row = field("pipes") " " field("active") " " field("writes") " " field("iterations")
    if (!(row in seen)) { seen[row] = 1; rows[++nrows] = row }
    key = row SUBSEP field("lib")
    c = field("cpu_s") * 1000
    cpu[key] = cpu[key] " " c; lp[key] = lp[key] " " field("loop_cpu_s") * 1000
    runs[key]++; link[field("lib")] = field("link")
    if (min[key] == "" || c < min[key]) min[key] = c
    if (max[key] == "" || c > max[key]) max[key] = c
  }
  END {
    nl = split(order, libs, " ")
    for (r = 1; r <= nrows; r++) {
      split(rows[r], f, " ")
      printf "\nP=%s pipes, A=%s active, W=%s writes, %s iterations per run\n", f[1], f[2], f[3], f[4]
      printf "  %-9s %-6s %4s %9s %19s %9s %9s %8s %8s %9s\n", "lib", "link", "runs", "cpu_ms", "cpu min..max", "loop_ms", "setup_ms", "us/byte", "tide/x", "tide_cb/x"
      t = median(cpu[rows[r] SUBSEP "tide"]); tcb = median(cpu[rows[r] SUBSEP "tide_cb"])
      for (l = 1; l <= nl; l++) {
        k = rows[r] SUBSEP libs[l]
        if (!(k in runs)) continue
        c = median(cpu[k]); lo = median(lp[k])
        tr = (libs[l] == "tide" || t == 0) ? "-" : sprintf("%.2f", t / c)
        cr = (libs[l] == "tide_cb" || tcb == 0) ? "-" : sprintf("%.2f", tcb / c)
        printf "  %-9s %-6s %4d %9.2f %9.2f..%-9.2f %9.2f %9.2f %8.3f %8s %9s\n", libs[l], link[libs[l]], runs[k], c, min[k], max[k], lo, c - lo, c * 1000 / (f[2] + f[3]), tr, cr
      }
    }
    print ""
  }
' "$raw"
if ((failures)); then
  echo "$failures run(s) failed; their figures are missing above" >&2
  exit 1
fi
