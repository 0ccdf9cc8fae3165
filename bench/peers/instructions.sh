#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per operation of one peer program on one workload, from callgrind: the difference
# of the instruction counts of two runs (N and 2N) over N, so start-up and teardown cancel out.
#
#   bash bench/peers/instructions.sh build/peers/asyncio_peer W2 [N]     # N defaults to 100,000
#
# Prints: <program> <workload> N=<n> instructions_per_op=<count>. Needs valgrind.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
program="$1"
workload="$2"
n="${3:-100000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

count() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out.$1" "$program" "$workload" "$1" \
        >/dev/null 2>"$tmp/err.$1" || {
        cat "$tmp/err.$1" >&2
        exit 1
    }
    sed -n 's/^summary: //p' "$tmp/out.$1"
}
one="$(count "$n")"
two="$(count $((2 * n)))"
awk -v p="$(basename "$program")" -v w="$workload" -v n="$n" -v a="$one" -v b="$two" \
    'BEGIN { printf "%s %s N=%d instructions_per_op=%.1f\n", p, w, n, (b - a) / n }'
