#!/usr/bin/env bash
# perf_cmp.sh A NS_A B NS_B: per round trip ns per symbol of ${OUT}/A.data and B.data (sample share
# times the server's srv_ns_per_op of that run), sorted by the difference B - A.
rep() { perf report -i ${OUT:-/tmp}/$1.data --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' | awk -v ns=$2 '{p=$1; sub("%","",p); $1=""; sub(/^ +/,""); printf "%s\t%.1f\n", $0, p*ns/100}'; }
join -t $'\t' -a1 -a2 -e 0 -o 0,1.2,2.2 <(rep $1 $2 | sort -t $'\t' -k1,1) <(rep $3 $4 | sort -t $'\t' -k1,1) | awk -F'\t' '{d=$3-$2; printf "%8.1f %8.1f %8.1f  %s\n", $2, $3, d, $1}' | sort -k3 -rn
