#!/usr/bin/env bash
# perf_b.sh SERVER OUT.data: perf record -e cpu-clock -g of echo_SERVER (CPU 1) for 3 s under
# workload (b) (loadgen on CPU 0, 1 s warm-up). BUILD: the build directory; OUT: scratch dir.
set -e
B=${BUILD:-build-netbench}/bench/net
s=$1; out=$2
taskset -c 1 $B/echo_$s > ${OUT:-/tmp}/srv.out 2>&1 &
pid=$!
for i in $(seq 100); do grep -q '^port=' ${OUT:-/tmp}/srv.out && break; sleep 0.05; done
port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' ${OUT:-/tmp}/srv.out)
( sleep 1; perf record -e cpu-clock -g -p $pid -o $out -- sleep 3 >/dev/null 2>&1 ) &
rp=$!
taskset -c 0 $B/loadgen --port $port --server-pid $pid --label $s --warmup 1 --seconds 3 --workload pingpong --conns 1000 --size 64
wait $rp
kill $pid; wait $pid 2>/dev/null || true
