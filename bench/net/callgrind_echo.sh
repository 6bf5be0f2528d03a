#!/usr/bin/env bash
# bench/net/callgrind_echo.sh — user-space instructions (and, with -c, simulated L1 misses) an
# echo server spends per 64-byte round trip, counted by callgrind. Unlike run_echo.sh's rates it
# does not depend on what else the machine is doing: the counts repeat to within an instruction
# (the miss counts of 1000 connections move by about one, with the order connections are served).
#
# The server runs under callgrind twice, driven by loadgen for LOW and then HIGH round trips
# (no warm-up); the difference of the two totals divided by HIGH - LOW is the cost of one round
# trip, free of start-up and shut-down.
#
# Usage: bench/net/callgrind_echo.sh [-B BUILD_DIR] [-n CONNS] [-c] SERVER...
#   -B DIR    build directory holding bench/net (default <repo>/build-netbench; build it with
#             run_echo.sh or the tide_bench_net target first)
#   -n CONNS  connections (default 1: workload a; 1000 is workload b)
#   -c        simulate the caches too (slower): adds the L1 read and write misses
#   SERVER    echo_<SERVER> in the build's bench/net: epoll, tide, tide_cb, ...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../script_common.sh
source "$here/../script_common.sh"
build_dir="$here/../../build-netbench"
conns=1
cache=no
low=20000
high=60000
while getopts "B:n:ch" opt; do
  case $opt in
    B) build_dir=$OPTARG ;;
    n) conns=$OPTARG ;;
    c) cache=yes ;;
    *) bench_usage ;;
  esac
done
shift $((OPTIND - 1))
if (($# == 0)); then
  echo "callgrind_echo.sh: name at least one server (e.g. tide epoll)" >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind_echo.sh: valgrind is not installed" >&2; exit 1; }
bin_dir="$build_dir/bench/net"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Runs server $1 under callgrind for $2 round trips; prints callgrind's summary line.
count() {
  local out="$work/cg.out"
  : >"$work/port"
  valgrind --tool=callgrind --cache-sim="$cache" --callgrind-out-file="$out" \
    "$bin_dir/echo_$1" >"$work/port" 2>"$work/valgrind.err" &
  server_pid=$!
  local port=""
  for _ in $(seq 400); do
    port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$work/port")
    [[ -n $port ]] && break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    echo "callgrind_echo.sh: echo_$1 did not start: $(cat "$work/valgrind.err")" >&2
    exit 1
  fi
  "$bin_dir/loadgen" --port "$port" --workload pingpong --conns "$conns" --size 64 \
    --warmup 0 --seconds 600 --max-ops "$2" >/dev/null
  kill "$server_pid" 2>/dev/null || true # callgrind writes its counts on SIGTERM
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  grep '^summary:' "$out" | sed 's/^summary: //'
}

for s in "$@"; do
  a=$(count "$s" "$low")
  b=$(count "$s" "$high")
  names=$(grep '^events:' "$work/cg.out" | sed 's/^events: //')
  printf '%-10s conns=%s ' "$s" "$conns"
  paste <(tr ' ' '\n' <<<"$names") <(tr ' ' '\n' <<<"$a") <(tr ' ' '\n' <<<"$b") |
    awk -v n=$((high - low)) '$1 ~ /^(Ir|D1mr|D1mw)$/ { printf "%s=%.1f ", $1, ($3 - $2) / n }'
  echo
done
