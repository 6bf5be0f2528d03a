#!/usr/bin/env bash
# syscalls_b.sh SERVER: counts the server's syscalls (tracepoints) over 2 s of workload (b).
B=${BUILD:-build-netbench}/bench/net
s=$1
taskset -c 1 $B/echo_$s > ${OUT:-/tmp}/srv.out 2>&1 &
pid=$!
for i in $(seq 100); do grep -q '^port=' ${OUT:-/tmp}/srv.out && break; sleep 0.05; done
port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' ${OUT:-/tmp}/srv.out)
( sleep 1; perf stat -x, -e 'syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_ctl' -p $pid -- sleep 2 2>&1 | cut -d, -f1,3 | tr '\n' ' '; echo ) &
rp=$!
taskset -c 0 $B/loadgen --port $port --server-pid $pid --label $s --warmup 1 --seconds 2 --workload pingpong --conns 1000 --size 64 | awk '{print $2,$6,$8}'
wait $rp
kill $pid; wait $pid 2>/dev/null
