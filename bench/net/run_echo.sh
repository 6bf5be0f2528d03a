#!/usr/bin/env bash
# bench/net/run_echo.sh — builds the echo servers (tide with tasks, tide with callbacks, libuv,
# libev, libevent, and the hand-written epoll floor) and the load generator, runs every server
# under every workload interleaved for R rounds, and prints medians and tide's ratios.
#
# Workloads (bench/net/loadgen.c):
#   a  1 connection, 64-byte ping-pong: round trips/s (latency-bound)
#   b  1000 connections x 64-byte ping-pong, one message in flight each: round trips/s
#   c  pump: one 8 KiB write outstanding per connection (-c connections), bytes echoed: MiB/s
#   m  1000 idle connections: the server's resident memory per connection
#
# Why interleaved: on a shared, noisy machine a burst of background load lands on whichever
# program runs at that moment. Every server runs once per workload per round, the order rotated
# each round, so noise spreads over all servers; the median over rounds drops outliers, and the
# claim is always a ratio of medians. Each run gets a fresh server process.
#
# Besides the rate (a property of the server+generator pair: whichever saturates first sets it),
# every row has the server's own CPU time per op (from /proc/PID/schedstat over the measured
# window): the cost of the server alone, the figure to read when gen_util is near 1.
#
# Usage: bench/net/run_echo.sh [-r ROUNDS] [-B BUILD_DIR] [-s SECONDS] [-w WARMUP] [-c CONNS]
#                              [-p split|same|none] [-S "servers"] [-W "workloads"] [-o RAW] [-n]
#                              [-U]
#   -r ROUNDS   rounds (default 5; env ROUNDS)
#   -B DIR      build directory (default <repo>/build-netbench; configured RelWithDebInfo)
#   -s SECONDS  measured window per run (default 2); -w WARMUP seconds before it (default 0.5)
#   -c CONNS    connections of the pump (default 1)
#   -p MODE     CPU pinning with taskset: split (default with 2+ CPUs: server on CPU 1,
#               generator on CPU 0), same (both on CPU 0: no cross-CPU wake-ups), none
#   -S LIST     servers to run (default: "epoll tide tide_cb libuv libev libevent", as built)
#   -W LIST     workloads to run (default "a b c m")
#   -F CPUS     a run during which the rest of the machine used more than CPUS CPUs (loadgen's
#               foreign=) is rerun, up to -T times (default 0.25 and 2); before each run the
#               script waits (up to -G seconds, default 60) for the machine to be that quiet
#   -o RAW      also keep the raw result lines in this file
#   -n          do not (re)build; use what BUILD_DIR holds
#   -U          also run tide on its io_uring backend: builds BUILD_DIR-uring with
#               -DTIDE_BACKEND=io_uring and runs its servers as tide_uring and tide_cb_uring
#               (added to the default server list)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../script_common.sh
source "$here/../script_common.sh"
rounds=${ROUNDS:-5}
build_dir="$repo/build-netbench"
seconds=2
warmup=0.5
pump_conns=1
pin=""
servers_wanted="epoll tide tide_cb libuv libev libevent"
workloads="a b c m"
raw_out=""
build=1
uring=0
foreign_max=0.25
retries=2
gate_wait=60

while getopts "r:B:s:w:c:p:S:W:F:T:G:o:nUh" opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    B) build_dir=$OPTARG ;;
    s) seconds=$OPTARG ;;
    w) warmup=$OPTARG ;;
    c) pump_conns=$OPTARG ;;
    p) pin=$OPTARG ;;
    S) servers_wanted=$OPTARG ;;
    W) workloads=$OPTARG ;;
    F) foreign_max=$OPTARG ;;
    T) retries=$OPTARG ;;
    G) gate_wait=$OPTARG ;;
    o) raw_out=$OPTARG ;;
    n) build=0 ;;
    U) uring=1 ;;
    *) bench_usage ;;
  esac
done
bench_require_rounds run_echo.sh "$rounds"

if ((build)); then
  bench_build "$repo" "$build_dir" tide_bench_net
fi

bin_dir="$build_dir/bench/net"
if [[ ! -f $bin_dir/net_peers.txt ]]; then
  echo "run_echo.sh: $bin_dir/net_peers.txt is missing; build first (drop -n)" >&2
  exit 1
fi

# tide's servers built over io_uring in a second build directory, copied in next to the others
# under their own names, so that one run interleaves both backends with the peers.
if ((uring)); then
  uring_dir="$build_dir-uring"
  if ((build)); then
    bench_build "$repo" "$uring_dir" tide_bench_net -DTIDE_BACKEND=io_uring
  fi
  for s in tide tide_cb; do
    if [[ ! -x $uring_dir/bench/net/echo_$s ]]; then
      echo "run_echo.sh: $uring_dir/bench/net/echo_$s is missing; build first (drop -n)" >&2
      exit 1
    fi
    cp "$uring_dir/bench/net/echo_$s" "$bin_dir/echo_${s}_uring"
    grep -qx "echo_${s}_uring" "$bin_dir/net_peers.txt" || echo "echo_${s}_uring" >>"$bin_dir/net_peers.txt"
  done
  if [[ $servers_wanted == "epoll tide tide_cb libuv libev libevent" ]]; then
    servers_wanted="epoll tide tide_uring tide_cb tide_cb_uring libuv libev libevent"
  fi
fi
if ! grep -qx loadgen "$bin_dir/net_peers.txt"; then
  echo "run_echo.sh: the load generator was not built" >&2
  exit 1
fi
servers=()
for s in $servers_wanted; do
  if grep -qx "echo_$s" "$bin_dir/net_peers.txt"; then
    servers+=("$s")
  else
    echo "== $s: not built (library not found when configuring; see cmake's output); skipped" >&2
  fi
done

cpus=$(nproc)
if [[ -z $pin ]]; then
  pin=$([[ $cpus -ge 2 ]] && echo split || echo none)
fi
case $pin in
  split) server_run=(taskset -c 1) gen_run=(taskset -c 0) ;;
  same) server_run=(taskset -c 0) gen_run=(taskset -c 0) ;;
  none) server_run=() gen_run=() ;;
  *) echo "run_echo.sh: -p must be split, same or none" >&2; exit 2 ;;
esac
if [[ $pin == split && $cpus -lt 2 ]]; then
  echo "run_echo.sh: -p split needs 2 CPUs, this machine has $cpus" >&2
  exit 2
fi

declare -A wl_args=(
  [a]="--workload pingpong --conns 1 --size 64"
  [b]="--workload pingpong --conns 1000 --size 64"
  [c]="--workload pump --conns $pump_conns --size 8192"
  [m]="--workload idle --conns 1000"
)

work=$(mktemp -d)
raw="$work/raw"
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts server $1 and sets server_pid and server_port; returns 1 if it did not come up.
start_server() {
  local out="$work/server.out"
  : >"$out"
  "${server_run[@]}" "$bin_dir/echo_$1" >"$out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    if grep -q '^port=' "$out"; then
      server_port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$out")
      return 0
    fi
    sleep 0.05
  done
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# CPUs busy (all of the machine) over the next 0.5 s, from /proc/stat.
busy_cpus() {
  local a b
  a=$(head -1 /proc/stat)
  sleep 0.5
  b=$(head -1 /proc/stat)
  echo "$a $b" | awk -v hz="$(getconf CLK_TCK)" '{ print (($13 + $14 + $15 + $18 + $19) - ($2 + $3 + $4 + $7 + $8)) / hz / 0.5 }'
}

# Waits until the machine is quiet (other tenants use less than foreign_max CPUs), at most
# gate_wait seconds; says so when it gives up waiting.
wait_for_quiet() {
  local waited=0 busy
  while busy=$(busy_cpus); awk -v b="$busy" -v m="$foreign_max" 'BEGIN { exit !(b > m) }'; do
    if ((waited >= gate_wait * 2)); then
      echo "   (machine still busy: $busy CPUs in use; running anyway)" >&2
      return
    fi
    waited=$((waited + 1))
  done
}

# The foreign= field of a result line, compared with foreign_max: 0 if the run was quiet.
contaminated() {
  echo "$1" | awk -v m="$foreign_max" '{ for (i = 1; i <= NF; i++) if ($i ~ /^foreign=/) { split($i, kv, "="); exit !(kv[2] > m) } exit 1 }'
}

failures=0
contaminated_runs=0
n=${#servers[@]}
for ((round = 1; round <= rounds; round++)); do
  echo "== round $round/$rounds  (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  echo "load round=$round load1=$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
  for wl in $workloads; do
    for ((i = 0; i < n; i++)); do
      s=${servers[$(((i + round - 1) % n))]} # rotate the starting server every round
      for ((try = 0; try <= retries; try++)); do
        wait_for_quiet
        if ! start_server "$s"; then
          echo "!! $s did not start: $(cat "$work/server.err")" >&2
          failures=$((failures + 1))
          stop_server
          break
        fi
        # shellcheck disable=SC2086 # the argument list is meant to split
        if ! line=$("${gen_run[@]}" "$bin_dir/loadgen" --port "$server_port" --server-pid \
          "$server_pid" --label "$s" --warmup "$warmup" --seconds "$seconds" ${wl_args[$wl]}); then
          echo "!! $s workload $wl failed: $line" >&2
          failures=$((failures + 1))
          stop_server
          break
        fi
        stop_server
        if [[ $wl == m ]] || ! contaminated "$line" || ((try == retries)); then
          if [[ $wl != m ]] && contaminated "$line"; then
            contaminated_runs=$((contaminated_runs + 1))
            line="$line noisy=1"
          fi
          echo "$line wl=$wl round=$round" >>"$raw"
          break
        fi
        echo "   ($s $wl: other work used $(echo "$line" | sed -n 's/.*foreign=\([0-9.]*\).*/\1/p') CPUs during the run; rerunning)" >&2
      done
    done
  done
done
echo "load round=end load1=$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
if [[ -n $raw_out ]]; then
  cp "$raw" "$raw_out"
fi

echo
echo "Echo comparison: median of $rounds interleaved rounds; pinning: $pin ($cpus CPUs);"
echo "  window ${seconds}s after ${warmup}s warm-up; loopback; fresh server per run."
echo "  rate: round trips/s (a, b) or MiB/s echoed (c). srv_us/op: the server's CPU time per"
echo "  round trip (a, b) or per 8 KiB echoed (c). util: busy fraction of server / generator."
echo "  ratio: tide's median rate / the row's median rate (> 1: tide faster). foreign: CPUs the"
echo "  rest of the machine used during the window; noisy: runs kept above -F after the reruns"
echo "  (left out of the medians when the server has quieter runs)."
awk -v servers="${servers[*]}" -v pump_conns="$pump_conns" '
  function median(list,   v, k, i, j, t, m) {
    m = split(list, v, " ")
    if (m == 0) return ""
    for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  }
  function field(name,   i, kv) {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
  }
  $1 == "load" { loads = loads " " field("load1"); next }
  {
    wl = field("wl"); lib = field("lib"); k = wl SUBSEP lib
    runs[k]++
    if (wl == "m") { mem[k] = mem[k] " " field("bytes_per_conn"); next }
    # Runs kept although the machine was busy count only when a server has no quiet run at all.
    if (field("noisy") == 1) { noisy[k]++; if (k in quiet) next } else if (!(k in quiet)) {
      quiet[k] = 1; rate[k] = ""; cpu[k] = ""; su[k] = ""; gu[k] = ""; fg[k] = ""; delete min[k]; delete max[k]
    }
    fg[k] = fg[k] " " field("foreign")
    r = wl == "c" ? field("mib_s") : field("rate")
    rate[k] = rate[k] " " r
    if (min[k] == "" || r + 0 < min[k]) min[k] = r + 0
    if (max[k] == "" || r + 0 > max[k]) max[k] = r + 0
    cpu[k] = cpu[k] " " field("srv_ns_per_op") / 1000
    su[k] = su[k] " " field("srv_util"); gu[k] = gu[k] " " field("gen_util")
  }
  END {
    nl = split(servers, libs, " ")
    title["a"] = "(a) 1 connection, 64-byte ping-pong: round trips/s"
    title["b"] = "(b) 1000 connections x 64-byte ping-pong: round trips/s"
    title["c"] = "(c) pump, " pump_conns " connection(s), 8 KiB writes: MiB/s echoed"
    split("a b c", wls, " ")
    for (w = 1; w <= 3; w++) {
      wl = wls[w]
      t = wl SUBSEP "tide"
      if (!(t in runs)) continue
      tr = median(rate[t]); tc = median(cpu[t])
      med[wl] = tr
      printf "\n%s\n", title[wl]
      printf "  %-13s %4s %5s %11s %23s %10s %8s %8s %7s %8s %9s\n", "server", "runs", "noisy", "rate", "min..max", "srv_us/op", "srv_util", "gen_util", "foreign", "ratio", "cpu ratio"
      for (l = 1; l <= nl; l++) {
        k = wl SUBSEP libs[l]
        if (!(k in runs)) continue
        r = median(rate[k]); c = median(cpu[k])
        rate_of[wl, libs[l]] = r
        rs = libs[l] == "tide" ? "-" : sprintf("%.3f", tr / r)
        cs = libs[l] == "tide" ? "-" : sprintf("%.3f", tc / c)
        printf "  %-13s %4d %5d %11.1f %11.1f..%-11.1f %10.2f %8.2f %8.2f %7.2f %8s %9s\n", libs[l], runs[k], noisy[k], r, min[k], max[k], c, median(su[k]), median(gu[k]), median(fg[k]), rs, cs
      }
    }
    if (("m" SUBSEP "tide") in runs) {
      printf "\n(m) resident memory per idle connection (1000 connections, each served once)\n"
      printf "  %-13s %4s %14s\n", "server", "runs", "bytes/conn"
      for (l = 1; l <= nl; l++) {
        k = "m" SUBSEP libs[l]
        if (k in runs) printf "  %-13s %4d %14.0f\n", libs[l], runs[k], median(mem[k])
      }
      print "  (libuv reference: sizeof(uv_tcp_t) = 248 bytes on x86-64 Linux)"
    }
    print "\ncpu ratio: tide median server CPU per op / the row median (< 1: tide cheaper)."
    printf "Load average (1 min) at the start of each round and at the end:%s\n", loads
    print "\nTargets (issue 4):"
    targets("tide")
    if (("b", "tide_uring") in rate_of || ("a", "tide_uring") in rate_of) {
      print "The same targets for tide on its io_uring backend:"
      targets("tide_uring")
    }
  }
  function targets(who) {
    target(who, "b", "epoll", 0.95, "(b) " who " >= 0.95x the epoll floor")
    target(who, "b", "libuv", 1.5, "(b) " who " >= 1.5x libuv")
    target(who, "a", "epoll", 0.97, "(a) " who " within 3% of the floor")
    target(who, "c", "libuv", 1.0, "(c) " who " >= libuv")
  }
  function target(who, wl, lib, want, text,   q) {
    if (!((wl, lib) in rate_of) || !((wl, who) in rate_of)) { printf "  %-40s  not measured\n", text; return }
    q = rate_of[wl, who] / rate_of[wl, lib]
    printf "  %-40s  %.3f  %s\n", text, q, (q >= want ? "met" : "MISSED")
  }
' "$raw"
if ((contaminated_runs)); then
  echo "$contaminated_runs run(s) kept although other work used more than $foreign_max CPUs during them (marked noisy=1 in the raw lines; see the noisy column)"
fi
if ((failures)); then
  echo "$failures run(s) failed; their figures are missing above" >&2
  exit 1
fi
