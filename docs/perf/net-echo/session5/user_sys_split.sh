#!/bin/bash
# user_sys_split.sh SERVER: user and system CPU per round trip of echo_SERVER under (b), split
# CPUs, from /proc/PID/stat (utime, stime) after a 0.5 s warm-up + 3 s run. The ticks cover the
# warm-up too, so the per-op figures read ~15% high: compare servers, not absolute values.
B=${BUILD:-build-netbench}/bench/net
s=$1
taskset -c 1 $B/echo_$s > ${OUT:-/tmp}/srv.$s 2>&1 &
pid=$!
for i in $(seq 100); do grep -q '^port=' ${OUT:-/tmp}/srv.$s && break; sleep 0.05; done
port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' ${OUT:-/tmp}/srv.$s)
line=$(taskset -c 0 $B/loadgen --port $port --server-pid $pid --label $s --warmup 0.5 --seconds 3 --workload pingpong --conns 1000 --size 64)
read u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
ops=$(echo "$line" | sed -n 's/.* ops=\([0-9]*\).*/\1/p')
kill $pid; wait $pid 2>/dev/null
hz=$(getconf CLK_TCK)
echo "$s ops=$ops utime_ticks=$u1 stime_ticks=$s1 user_ns/op=$(echo "$u1*1000000000/$hz/$ops" | bc) sys_ns/op=$(echo "$s1*1000000000/$hz/$ops" | bc) $(echo "$line" | grep -o 'srv_ns_per_op=[0-9.]*')"
