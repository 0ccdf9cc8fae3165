#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Side-by-side comparison of asyncio-cpp with CPython asyncio, uvloop and standalone asio on the
# workloads W1-W6 (issues 6 and 12). Not part of CI: a full run takes several minutes.
#
#   bash bench/peers/compare.sh                 # 5 rounds at full size
#   bash bench/peers/compare.sh --quick         # N divided by 10, for a smoke run
#   bash bench/peers/compare.sh --rounds 3      # any number of rounds
#   bash bench/peers/compare.sh --no-install    # skip apt-get (everything is already there)
#   bash bench/peers/compare.sh --peers "asio asyncio-cpp" --workloads "W2 W5"
#   bash bench/peers/compare.sh --include /tmp/old/include   # asyncio-cpp from other headers
#                                                            # (before/after a change)
#   bash bench/peers/compare.sh --base /tmp/old/include --peers "asyncio-cpp-base asyncio-cpp"
#                          # before and after in one run: the peer asyncio-cpp-base is asyncio-cpp
#                          # built from the headers in --base (a copy of include/ before a change)
#   LIBCORO_SRC=~/src/libcoro NETCAN_SRC=~/src/asyncio bash bench/peers/compare.sh
#                          # with the jbaldwin/libcoro and netcan/asyncio peers (issue 14)
#
# What it does, on Debian 12:
#   1. installs with apt-get, through scripts/deps.sh, g++, libasio-dev (asio 1.22), python3,
#      time (GNU time, for peak RSS) and python3-uvloop when the archive has it;
#   2. builds bench/peers/asyncio_peer.cpp (against include/) and bench/peers/asio_peer.cpp with
#      g++ -O2 -std=c++20 into build/peers/ (asio's headers may warn, so no -Werror there); with
#      LIBCORO_SRC (a jbaldwin/libcoro source folder) and NETCAN_SRC (a netcan/asyncio one, which
#      needs libfmt-dev), bench/peers/libcoro_peer.cpp and netcan_peer.cpp with their sources, the
#      objects into build/peers/ only (their sources are never copied into this repository); a
#      peer whose folder is unset or absent is skipped with a message;
#   3. runs every peer on every workload, round by round (round 1 runs everything once, then
#      round 2, ...), so drift of a noisy machine spreads over every peer alike; each run goes
#      under /usr/bin/time -f %M for its peak RSS;
#   4. prints the machine and its load, then Markdown tables of the median ns per operation of
#      each peer and the ratio asyncio-cpp / peer (below 1 means asyncio-cpp is faster): one from
#      wall time, as each program reports it, with the median peak RSS of W1; one from the CPU
#      time of each process, steadier when other work shares the machine. Raw figures:
#      build/peers/results.tsv; a failed run's output: build/peers/failures.log (exit status 1).
#
# Workloads (N is the number of operations; ns_per_op = total / N):
#   W1       spawn N tasks returning their index, gather them, sum (N = 1,000,000)
#   W2       1,000 tasks each yielding N/1,000 times with sleep(0) (N = 1,000,000 switches)
#   W3-1p1c  1 producer, 1 consumer, a queue of maxsize 1024, N items, task_done + join (N = 1e6)
#   W3-4p4c  the same with 4 producers and 4 consumers
#   W4       N tasks each sleeping a seeded random delay in [0, 50 ms), gathered; ns_per_op is
#            (wall - 50 ms) / N, the cost of one timer (N = 100,000); real clock for every peer
#   W5       a coroutine awaiting itself to depth 10,000, N/10,000 times (N = 1,000,000 levels)
#   W6       a socketpair ping-pong: one byte each way, N round trips (sock_sendall + sock_recv,
#            asio's async_write + async_read_some) (N = 100,000)
# Peers: python (CPython asyncio), uvloop, asio (channel for W3), asio-nb (W3 only: try_send /
# try_receive before the async operation), libcoro (W1-W5: one coro::scheduler thread resuming
# inline, when_all, yield, yield_for, ring_buffer), netcan (W1, W2, W4, W5: schedule_task, sleep;
# its clock counts whole milliseconds), asyncio-cpp (the monotonic loop, asyncio::run),
# asyncio-cpp-base (the same built from --base DIR).
# Every program checks its result and prints one line:
#   <peer> <workload> N=<n> total_s=<seconds> ns_per_op=<ns>
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/build/peers"
rounds=5
quick=0
install=1
include="$root/include"
base=""
peers="python uvloop asio asio-nb libcoro netcan asyncio-cpp"
workloads="W1 W2 W3-1p1c W3-4p4c W4 W5 W6"
run_timeout=900

usage() {
    sed -n '3,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ "$#" -gt 0 ]; do
    case "$1" in
    --rounds)
        rounds="$2"
        shift 2
        ;;
    --quick)
        quick=1
        shift
        ;;
    --no-install)
        install=0
        shift
        ;;
    --include)
        include="$(cd "$2" && pwd)"
        shift 2
        ;;
    --base)
        base="$(cd "$2" && pwd)"
        shift 2
        ;;
    --peers)
        peers="$2"
        shift 2
        ;;
    --workloads)
        workloads="$2"
        shift 2
        ;;
    -h | --help) usage 0 ;;
    *)
        echo "compare: unknown argument $1" >&2
        usage 2 >&2
        ;;
    esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "compare: --rounds wants a positive integer" >&2
    exit 2
fi

size_of() {
    local n
    case "$1" in
    W4 | W6) n=100000 ;;
    *) n=1000000 ;;
    esac
    if [ "$quick" -eq 1 ]; then
        n=$((n / 10))
    fi
    echo "$n"
}

# --- 1. dependencies --------------------------------------------------------------------------
if [ "$install" -eq 1 ]; then
    bash "$root/scripts/deps.sh" g++ libasio-dev python3 time
    if [ -n "${NETCAN_SRC:-}" ] && [[ " $peers " == *" netcan "* ]]; then
        bash "$root/scripts/deps.sh" libfmt-dev
    fi
    if ! bash "$root/scripts/deps.sh" python3-uvloop; then
        echo "compare: python3-uvloop could not be installed; the uvloop peer is skipped" >&2
    fi
fi
python=/usr/bin/python3 # Debian's interpreter: the one python3-uvloop installs into
if [[ " $peers " == *" uvloop "* ]] && ! "$python" -c 'import uvloop' 2>/dev/null; then
    echo "compare: uvloop is not importable by $python; the uvloop peer is skipped" >&2
    peers="$(echo " $peers " | sed 's/ uvloop / /')"
fi

# --- 2. build ---------------------------------------------------------------------------------
mkdir -p "$out"
warnings=(-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wnon-virtual-dtor -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wextra-semi)
if [[ " $peers " == *" asyncio-cpp "* ]]; then
    echo "compare: building asyncio_peer"
    g++ -O2 -std=c++20 "${warnings[@]}" -I"$include" "$root/bench/peers/asyncio_peer.cpp" \
        -o "$out/asyncio_peer"
fi
if [[ " $peers " == *" asyncio-cpp-base "* ]]; then
    if [ -z "$base" ]; then
        echo "compare: the peer asyncio-cpp-base needs --base DIR" >&2
        exit 2
    fi
    echo "compare: building asyncio_peer_base from $base"
    g++ -O2 -std=c++20 "${warnings[@]}" -I"$base" "$root/bench/peers/asyncio_peer.cpp" \
        -o "$out/asyncio_peer_base"
fi
if [[ " $peers " == *" asio"* ]]; then
    echo "compare: building asio_peer"
    g++ -O2 -std=c++20 "${warnings[@]}" "$root/bench/peers/asio_peer.cpp" -o "$out/asio_peer"
fi

# The peer $1 is dropped from the list, with the reason $2.
drop_peer() {
    echo "compare: $2; the $1 peer is skipped" >&2
    peers="$(echo " $peers " | sed "s/ $1 / /")"
}
# libcoro: its library sources without networking (which needs c-ares) plus the scheduler, with
# the export header CMake would generate.
if [[ " $peers " == *" libcoro "* ]]; then
    if [ -z "${LIBCORO_SRC:-}" ] || ! [ -f "${LIBCORO_SRC}/include/coro/scheduler.hpp" ]; then
        drop_peer libcoro "LIBCORO_SRC is not a libcoro source folder (${LIBCORO_SRC:-unset})"
    else
        echo "compare: building libcoro_peer from $LIBCORO_SRC"
        mkdir -p "$out/libcoro/include/coro"
        printf '#pragma once\n#define CORO_EXPORT\n#define CORO_NO_EXPORT\n' \
            >"$out/libcoro/include/coro/export.hpp"
        libcoro_sources=()
        for f in condition_variable default_executor detail/task_self_deleting event mutex \
            semaphore sync_wait thread_pool detail/pipe detail/timer_handle scheduler poll \
            detail/io_notifier_epoll; do
            libcoro_sources+=("$LIBCORO_SRC/src/$f.cpp")
        done
        if ! g++ -O2 -std=c++20 -w -I"$LIBCORO_SRC/include" -I"$out/libcoro/include" \
            "${libcoro_sources[@]}" "$root/bench/peers/libcoro_peer.cpp" -pthread \
            -o "$out/libcoro_peer"; then
            drop_peer libcoro "libcoro_peer did not build"
        fi
    fi
fi
if [[ " $peers " == *" netcan "* ]]; then
    if [ -z "${NETCAN_SRC:-}" ] || ! [ -f "${NETCAN_SRC}/include/asyncio/schedule_task.h" ]; then
        drop_peer netcan "NETCAN_SRC is not a netcan/asyncio source folder (${NETCAN_SRC:-unset})"
    else
        echo "compare: building netcan_peer from $NETCAN_SRC"
        if ! g++ -O2 -std=c++20 -w -I"$NETCAN_SRC/include" "$NETCAN_SRC/src/event_loop.cpp" \
            "$root/bench/peers/netcan_peer.cpp" -lfmt -o "$out/netcan_peer"; then
            drop_peer netcan "netcan_peer did not build"
        fi
    fi
fi

# The command line of one peer on one workload; empty when the peer does not run it.
command_of() {
    local peer="$1" workload="$2" n="$3"
    case "$peer" in
    python) echo "$python $root/bench/peers/python_peer.py $workload $n" ;;
    uvloop) echo "$python $root/bench/peers/python_peer.py $workload $n --uvloop" ;;
    asio) echo "$out/asio_peer $workload $n" ;;
    asio-nb) if [[ "$workload" == W3-* ]]; then echo "$out/asio_peer $workload $n --nb"; fi ;;
    libcoro) if [ "$workload" != W6 ]; then echo "$out/libcoro_peer $workload $n"; fi ;;
    netcan) case "$workload" in W1 | W2 | W4 | W5) echo "$out/netcan_peer $workload $n" ;; esac ;;
    asyncio-cpp) echo "$out/asyncio_peer $workload $n" ;;
    asyncio-cpp-base) echo "$out/asyncio_peer_base $workload $n" ;;
    *)
        echo "compare: unknown peer $peer" >&2
        exit 2
        ;;
    esac
}

# --- 3. rounds --------------------------------------------------------------------------------
# results.tsv: one line per run. cpu_ns_per_op is the process's user + system CPU time (bash's
# `time`, millisecond resolution, interpreter start-up included) over N: on a machine shared with
# other work, CPU time moves less than wall time. rss_mb is GNU time's peak RSS.
results="$out/results.tsv"
failures="$out/failures.log"
printf 'round\tpeer\tworkload\tn\ttotal_s\tns_per_op\tcpu_ns_per_op\trss_mb\n' >"$results"
: >"$failures"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
SECONDS=0
TIMEFORMAT='%3U %3S'
for round in $(seq 1 "$rounds"); do
    for workload in $workloads; do
        n="$(size_of "$workload")"
        for peer in $peers; do
            cmd="$(command_of "$peer" "$workload" "$n")"
            if [ -z "$cmd" ]; then
                continue
            fi
            status=0
            # shellcheck disable=SC2086 # cmd is a word list built above
            {
                time timeout "$run_timeout" /usr/bin/time -f %M -o "$out/rss.txt" $cmd \
                    >"$out/stdout.txt" 2>"$out/stderr.txt"
            } 2>"$out/cpu.txt" || status=$?
            line="$(cat "$out/stdout.txt")"
            pattern="^${peer%-base} $workload N=$n total_s=([0-9.]+) ns_per_op=(-?[0-9.]+)$"
            if [ "$status" -eq 0 ] && [[ "$line" =~ $pattern ]]; then
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$peer" "$workload" "$n" \
                    "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
                    "$(awk -v n="$n" '{ printf "%.1f", ($1 + $2) * 1e9 / n }' "$out/cpu.txt")" \
                    "$(awk '{ v = $1 } END { printf "%.1f", v / 1024 }' "$out/rss.txt")" \
                    >>"$results"
                printf 'round %s/%s  %s\n' "$round" "$rounds" "$line"
            else
                printf 'round %s/%s  %s %s FAILED (exit %s)\n' "$round" "$rounds" "$peer" \
                    "$workload" "$status"
                {
                    echo "== round $round: $cmd (exit $status)"
                    echo "-- stdout:"
                    cat "$out/stdout.txt"
                    echo "-- stderr:"
                    cat "$out/stderr.txt"
                } >>"$failures"
                printf '%s\t%s\t%s\t%s\tFAIL\tFAIL\tFAIL\tFAIL\n' "$round" "$peer" "$workload" \
                    "$n" >>"$results"
            fi
        done
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- 4. tables --------------------------------------------------------------------------------
# The median of column $3 of results.tsv for peer $1 and workload $2; FAIL when a run failed,
# "-" when the peer does not run the workload.
cell() {
    awk -F'\t' -v p="$1" -v w="$2" -v c="$3" 'NR > 1 && $2 == p && $3 == w { print $c }' \
        "$results" | sort -g | awk '
        $1 == "FAIL" { failed = 1 }
        { v[NR] = $1 }
        END {
            if (failed) { print "FAIL"; exit }
            if (NR == 0) { print "-"; exit }
            if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 }
        }'
}
fmt() {
    case "$1" in
    - | FAIL) echo "$1" ;;
    *) awk -v v="$1" 'BEGIN { printf (v >= 100 || v <= -100) ? "%.0f" : "%.1f", v }' ;;
    esac
}
ratio() {
    case "$1 $2" in
    *-* | *FAIL*) echo "-" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.2fx", a / b }' ;;
    esac
}

others=()
has_ours=0
for peer in $peers; do
    if [ "$peer" = asyncio-cpp ]; then
        has_ours=1
    else
        others+=("$peer")
    fi
done

# One row: label, unit, then per peer the median of column $4 for workload $2, then the ratios.
row() {
    local label="$1" workload="$2" unit="$3" column="$4" line v
    declare -A med=()
    line="| $label | $unit |"
    for peer in $peers; do
        v="$(cell "$peer" "$workload" "$column")"
        med[$peer]="$v"
        line+=" $(fmt "$v") |"
    done
    if [ "$has_ours" -eq 1 ]; then
        for peer in "${others[@]}"; do
            line+=" $(ratio "${med[asyncio-cpp]}" "${med[$peer]}") |"
        done
    fi
    echo "$line"
}
header() {
    local line="| workload (N) | unit |" rule="|---|---|"
    for peer in $peers; do
        line+=" $peer |"
        rule+="---:|"
    done
    if [ "$has_ours" -eq 1 ]; then
        for peer in "${others[@]}"; do
            line+=" ours/$peer |"
            rule+="---:|"
        done
    fi
    echo "$line"
    echo "$rule"
}

echo
echo "## asyncio-cpp vs peers: medians of $rounds rounds$([ "$quick" -eq 1 ] && echo ', --quick sizes')"
echo
echo "- date: $started; the run took $((SECONDS / 60)) min $((SECONDS % 60)) s"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
if [ "$include" = "$root/include" ]; then
    ours="include/ of $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [ -n "$(git -C "$root" status --porcelain -- include 2>/dev/null)" ]; then
        ours+=" with uncommitted changes"
    fi
else
    ours="$include"
fi
echo "- asyncio-cpp: $ours"
if [[ " $peers " == *" asyncio-cpp-base "* ]]; then
    echo "- asyncio-cpp-base: $base"
fi
# The commit of a peer's source folder, when it is a git checkout.
src_commit() {
    git -C "$1" rev-parse --short HEAD 2>/dev/null || echo "commit unknown"
}
if [[ " $peers " == *" libcoro "* ]]; then
    echo "- libcoro: $LIBCORO_SRC at $(src_commit "$LIBCORO_SRC")"
fi
if [[ " $peers " == *" netcan "* ]]; then
    echo "- netcan/asyncio: $NETCAN_SRC at $(src_commit "$NETCAN_SRC") (ms clock: W2, W4 rounded)"
fi
echo "- load average (1, 5, 15 min): $load_before before, $load_after after"
echo "- $(g++ --version | head -n 1), -O2 -std=c++20;" \
    "asio $(dpkg-query -W -f '${Version}' libasio-dev 2>/dev/null || echo '?');" \
    "$("$python" --version 2>&1)$("$python" -c 'import uvloop; print(", uvloop", uvloop.__version__)' 2>/dev/null || true)"
echo
echo "Wall time (what each program prints; W4: (wall - 50 ms) / timer), and W1's peak RSS:"
echo
header
for workload in $workloads; do
    row "$workload ($(size_of "$workload"))" "$workload" ns/op 6
done
if [[ " $workloads " == *" W1 "* ]]; then
    row "W1 peak RSS" W1 MB 8
fi
echo
echo "CPU time (user + system of the whole process, start-up included; W4: CPU / timer, sleeping"
echo "costs none):"
echo
header
for workload in $workloads; do
    row "$workload ($(size_of "$workload"))" "$workload" ns/op 7
done
echo
echo "ours/peer: asyncio-cpp's median over the peer's; below 1.00x asyncio-cpp is faster."
echo "Raw runs: $results"
if [ -s "$failures" ]; then
    echo
    echo "Some runs FAILED; their output is in $failures"
    exit 1
fi
