#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Echo-server benchmark of issue 13: asyncio-cpp streams beside asio, uvloop and CPython asyncio,
# all driven by the same load generator (bench/peers/echo_load.cpp, raw epoll, none of them).
# Not part of CI: the default run takes about 10 minutes (8 min of runs on a 2-core machine).
#
#   bash bench/peers/echo_compare.sh                  # 5 rounds, 1.5 s measured per run
#   bash bench/peers/echo_compare.sh --quick          # 1 round, 0.5 s per run, 1,000 idle conns
#   bash bench/peers/echo_compare.sh --rounds 3 --duration 2 --warmup 0.5
#   bash bench/peers/echo_compare.sh --servers "asio asyncio-cpp" --sizes "1024" --conns "100"
#   bash bench/peers/echo_compare.sh --no-idle        # skip the memory per idle connection
#   bash bench/peers/echo_compare.sh --idle 10000     # connections held open for it (default)
#   bash bench/peers/echo_compare.sh --reuseport      # examples/reuseport_echo.cpp with 1 and 2
#                                                     # threads instead (1 KiB, 10 and 100 conns)
#   bash bench/peers/echo_compare.sh --no-install     # skip apt-get
#   bash bench/peers/echo_compare.sh --include /tmp/old/include   # asyncio-cpp from other headers
#
# What it does, on Debian 12:
#   1. installs with apt-get (scripts/deps.sh) g++, libasio-dev (asio 1.22), python3 and
#      python3-uvloop; the Python servers run with /usr/bin/python3 (3.11), which uvloop is for;
#   2. builds echo_load.cpp, echo_asyncio.cpp (against include/), echo_asio.cpp (and for
#      --reuseport examples/reuseport_echo.cpp) with g++ -O2 -std=c++20 into build/peers/;
#   3. for every message size (64 B, 1 KiB, 16 KiB) and connection count (1, 10, 100) runs every
#      server once per round, round after round (round 1 runs everything once, then round 2,
#      ...), so a noisy machine's drift spreads over every server alike. One run: a fresh server
#      on 127.0.0.1:PORT, waited for until it prints "ready" (10 s at most), then
#        echo_load --port PORT --conns C --size S --warmup W --duration D --server-pid PID
#      (a closed loop, one message in flight per connection, every echo checked byte for byte;
#      see echo_load.cpp), then the server is killed. The server's CPU per request is its
#      utime + stime (/proc/PID/stat) over the measured phase divided by the requests served;
#   4. memory per idle connection (one round): for asyncio-cpp, asio, uvloop (streams) and CPython,
#      a fresh server, then `echo_load --idle 10000`: the server's VmRSS after 10,000 connections
#      were opened and each echoed one byte, minus before, over 10,000 (RLIMIT_NOFILE is raised to
#      the hard limit here and in the generator; skipped with a message when it is too low);
#   5. prints the machine and its load average, then Markdown tables of the medians: requests per
#      second, server CPU us per request with the ratio asyncio-cpp / asio (target of issue 13:
#      at most 0.80x), p50 / p99 latency in us, and bytes per idle connection.
# Raw runs: build/peers/echo_results.tsv (and echo_idle.tsv, echo_reuseport.tsv); a failed run's
# output: build/peers/echo_failures.log (exit status 1). Everything listens on and talks to
# 127.0.0.1 only; every server started is killed on exit (trap), every wait is bounded.
#
# Servers (all print "ready" and nothing else; echo until the end of stream):
#   asyncio-cpp      echo_asyncio.cpp: start_server, a task per connection, read(65536), write, drain
#   asio             echo_asio.cpp: co_spawn, async_read_some (64 KiB buffer) + async_write
#   uvloop-protocol  echo_server.py --uvloop --protocol: transport.write in data_received
#   uvloop-streams   echo_server.py --uvloop: the same streams code as CPython's
#   cpython-streams  echo_server.py: asyncio.start_server, read(65536), write, drain
# and, only when named in --servers:
#   asyncio-cpp-notrim  echo_asyncio under GLIBC_TUNABLES=glibc.malloc.trim_threshold=256 MiB:
#                    glibc then keeps the heap top that a loop iteration's freed read buffers
#                    leave, instead of returning it (brk) and faulting it back in (16 KiB rows)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/build/peers"
rounds=5
warmup=0.5
duration=1.5
install=1
include="$root/include"
servers="asyncio-cpp asio uvloop-protocol uvloop-streams cpython-streams"
sizes="64 1024 16384"
conns_list="1 10 100"
idle=10000
do_idle=1
reuseport=0
port="${ECHO_PORT:-$((40000 + RANDOM % 8000))}"

usage() {
    sed -n '3,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ "$#" -gt 0 ]; do
    case "$1" in
    --rounds) rounds="$2" && shift 2 ;;
    --warmup) warmup="$2" && shift 2 ;;
    --duration) duration="$2" && shift 2 ;;
    --quick)
        rounds=1 warmup=0.3 duration=0.5 idle=1000
        shift
        ;;
    --servers) servers="$2" && shift 2 ;;
    --sizes) sizes="$2" && shift 2 ;;
    --conns) conns_list="$2" && shift 2 ;;
    --idle) idle="$2" && shift 2 ;;
    --no-idle) do_idle=0 && shift ;;
    --reuseport) reuseport=1 && shift ;;
    --no-install) install=0 && shift ;;
    --include) include="$(cd "$2" && pwd)" && shift 2 ;;
    -h | --help) usage 0 ;;
    *)
        echo "echo_compare: unknown argument $1" >&2
        usage 2 >&2
        ;;
    esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "echo_compare: --rounds wants a positive integer" >&2
    exit 2
fi

# --- 1. dependencies --------------------------------------------------------------------------
if [ "$install" -eq 1 ]; then
    bash "$root/scripts/deps.sh" g++ libasio-dev python3
    if ! bash "$root/scripts/deps.sh" python3-uvloop; then
        echo "echo_compare: python3-uvloop could not be installed; the uvloop servers are skipped" >&2
    fi
fi
python=/usr/bin/python3 # Debian's interpreter: the one python3-uvloop installs into
if [[ " $servers " == *" uvloop-"* ]] && ! "$python" -c 'import uvloop' 2>/dev/null; then
    echo "echo_compare: uvloop is not importable by $python; the uvloop servers are skipped" >&2
    servers="$(echo " $servers " | sed 's/ uvloop-protocol / /; s/ uvloop-streams / /')"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # servers inherit it (the idle test's 10,000)

# --- 2. build ---------------------------------------------------------------------------------
mkdir -p "$out"
warnings=(-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wnon-virtual-dtor -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wextra-semi)
echo "echo_compare: building echo_load"
g++ -O2 -std=c++20 "${warnings[@]}" "$root/bench/peers/echo_load.cpp" -o "$out/echo_load"
if [ "$reuseport" -eq 1 ]; then
    echo "echo_compare: building reuseport_echo"
    g++ -O2 -std=c++20 -pthread "${warnings[@]}" -I"$include" "$root/examples/reuseport_echo.cpp" \
        -o "$out/reuseport_echo"
else
    if [[ " $servers " == *" asyncio-cpp"* ]]; then
        echo "echo_compare: building echo_asyncio"
        g++ -O2 -std=c++20 "${warnings[@]}" -I"$include" "$root/bench/peers/echo_asyncio.cpp" \
            -o "$out/echo_asyncio"
    fi
    if [[ " $servers " == *" asio "* ]]; then
        echo "echo_compare: building echo_asio" # asio's headers may warn: no -Werror anywhere
        g++ -O2 -std=c++20 "${warnings[@]}" "$root/bench/peers/echo_asio.cpp" -o "$out/echo_asio"
    fi
fi

# The command line of one server.
command_of() {
    case "$1" in
    asyncio-cpp) echo "$out/echo_asyncio $port" ;;
    asyncio-cpp-notrim) # glibc keeps freed heap memory instead of returning it at once (brk)
        echo "env GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456 $out/echo_asyncio $port" ;;
    asio) echo "$out/echo_asio $port" ;;
    uvloop-protocol) echo "$python $root/bench/peers/echo_server.py $port --uvloop --protocol" ;;
    uvloop-streams) echo "$python $root/bench/peers/echo_server.py $port --uvloop" ;;
    cpython-streams) echo "$python $root/bench/peers/echo_server.py $port" ;;
    threads-*) echo "$out/reuseport_echo --port $port --threads ${1#threads-}" ;;
    *)
        echo "echo_compare: unknown server $1" >&2
        exit 2
        ;;
    esac
}

# --- 3. running one server --------------------------------------------------------------------
server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        # bounded: a server that ignores SIGTERM gets SIGKILL after 5 s
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# Starts server $1 and waits for its "ready"; returns 1 when it does not come within 10 s.
start_server() {
    local cmd
    cmd="$(command_of "$1")"
    : >"$out/server.out" # before the server starts: no "ready" left from the previous one
    # shellcheck disable=SC2086 # cmd is a word list built above
    $cmd >"$out/server.out" 2>"$out/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        if grep -q '^ready$' "$out/server.out" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    return 1
}

failures="$out/echo_failures.log"
: >"$failures"
record_failure() { # what, status, generator output file
    {
        echo "== $1 (exit $2)"
        echo "-- generator:"
        cat "$3" 2>/dev/null || true
        echo "-- server stdout:"
        cat "$out/server.out" 2>/dev/null || true
        echo "-- server stderr:"
        cat "$out/server.err" 2>/dev/null || true
    } >>"$failures"
}

# One measured run: server, size, connections; appends a line to $results, echoes a progress line.
results="$out/echo_results.tsv"
run_load() {
    local server="$1" size="$2" conns="$3" round="$4" status=0 line
    if start_server "$server"; then
        timeout 120 "$out/echo_load" --port "$port" --conns "$conns" --size "$size" \
            --warmup "$warmup" --duration "$duration" --server-pid "$server_pid" \
            --label "$server" >"$out/load.out" 2>&1 || status=$?
    else
        status=99
        echo "server did not print ready within 10 s" >"$out/load.out"
    fi
    stop_server
    line="$(head -n 1 "$out/load.out")"
    local re="^echo-load server=$server size=$size conns=$conns requests=([0-9]+) seconds=[0-9.]+ "
    re+="rps=([0-9]+) p50_us=([0-9.]+) p99_us=([0-9.]+) server_cpu_s=[0-9.]+ "
    re+="cpu_us_per_req=([0-9.]+) sched_us_per_req=([0-9.]+) load1=([0-9.]+)$"
    if [ "$status" -eq 0 ] && [[ "$line" =~ $re ]]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$size" "$conns" \
            "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" \
            "${BASH_REMATCH[5]}" "${BASH_REMATCH[6]}" >>"$results"
        printf 'round %s/%s  %s\n' "$round" "$rounds" "$line"
    else
        printf 'round %s/%s  %s size=%s conns=%s FAILED (exit %s)\n' "$round" "$rounds" \
            "$server" "$size" "$conns" "$status"
        record_failure "round $round: $server size=$size conns=$conns" "$status" "$out/load.out"
        printf '%s\t%s\t%s\t%s\tFAIL\tFAIL\tFAIL\tFAIL\tFAIL\tFAIL\n' "$round" "$server" "$size" \
            "$conns" >>"$results"
    fi
}

# --- 4. tables --------------------------------------------------------------------------------
# The median of column $4 of $results for server $1, size $2, connections $3; FAIL or "-".
cell() {
    awk -F'\t' -v s="$1" -v z="$2" -v c="$3" -v k="$4" \
        'NR > 1 && $2 == s && $3 == z && $4 == c { print $k }' "$results" | sort -g | awk '
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
    *) awk -v v="$1" 'BEGIN { printf (v >= 100) ? "%.0f" : "%.1f", v }' ;;
    esac
}
ratio() {
    case "$1 $2" in
    *-* | *FAIL*) echo "-" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.2fx", a / b }' ;;
    esac
}
size_name() {
    case "$1" in
    64) echo "64 B" ;;
    1024) echo "1 KiB" ;;
    16384) echo "16 KiB" ;;
    *) echo "$1 B" ;;
    esac
}

# A table of column $1 over sizes x connections; $2 = "ratio" adds asyncio-cpp / asio (and / the
# first uvloop server); $3 = "p50p99" prints "p50 / p99" cells from columns 7 and 8.
table() {
    local column="$1" extra="${2:-}" line rule a b
    line="| size | conns |"
    rule="|---|---:|"
    for s in $servers; do
        line+=" $s |"
        rule+="---:|"
    done
    if [ "$extra" = ratio ] && [[ " $servers " == *" asyncio-cpp "* ]]; then
        [[ " $servers " == *" asio "* ]] && line+=" asyncio-cpp / asio |" && rule+="---:|"
        [[ " $servers " == *" uvloop-protocol "* ]] && line+=" / uvloop-protocol |" && rule+="---:|"
    fi
    echo "$line"
    echo "$rule"
    for size in $sizes; do
        for conns in $conns_list; do
            line="| $(size_name "$size") | $conns |"
            for s in $servers; do
                if [ "$extra" = p50p99 ]; then
                    line+=" $(fmt "$(cell "$s" "$size" "$conns" 7)") / $(fmt "$(cell "$s" "$size" "$conns" 8)") |"
                else
                    line+=" $(fmt "$(cell "$s" "$size" "$conns" "$column")") |"
                fi
            done
            if [ "$extra" = ratio ] && [[ " $servers " == *" asyncio-cpp "* ]]; then
                a="$(cell asyncio-cpp "$size" "$conns" "$column")"
                if [[ " $servers " == *" asio "* ]]; then
                    b="$(cell asio "$size" "$conns" "$column")"
                    line+=" $(ratio "$a" "$b") |"
                fi
                if [[ " $servers " == *" uvloop-protocol "* ]]; then
                    b="$(cell uvloop-protocol "$size" "$conns" "$column")"
                    line+=" $(ratio "$a" "$b") |"
                fi
            fi
            echo "$line"
        done
    done
}

machine() {
    echo "- date: $started; the run took $((SECONDS / 60)) min $((SECONDS % 60)) s"
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
    local ours
    if [ "$include" = "$root/include" ]; then
        ours="include/ of $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
        if [ -n "$(git -C "$root" status --porcelain -- include 2>/dev/null)" ]; then
            ours+=" with uncommitted changes"
        fi
    else
        ours="$include"
    fi
    echo "- asyncio-cpp: $ours"
    echo "- load average (1, 5, 15 min): $load_before before, $load_after after (the generator" \
        "and the server share $(nproc) CPUs with whatever else runs)"
    echo "- $(g++ --version | head -n 1), -O2 -std=c++20;" \
        "asio $(dpkg-query -W -f '${Version}' libasio-dev 2>/dev/null || echo '?');" \
        "$("$python" --version 2>&1)$("$python" -c 'import uvloop; print(", uvloop", uvloop.__version__)' 2>/dev/null || true)"
    echo "- per run: warm-up $warmup s, measured $duration s; medians of $rounds rounds"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
SECONDS=0
printf 'round\tserver\tsize\tconns\trequests\trps\tp50_us\tp99_us\tcpu_us_per_req\tsched_us_per_req\n' \
    >"$results"

# --- 5a. --reuseport: examples/reuseport_echo.cpp with 1 and 2 loops --------------------------
if [ "$reuseport" -eq 1 ]; then
    servers="threads-1 threads-2"
    sizes="1024"
    conns_list="10 100"
    for round in $(seq 1 "$rounds"); do
        for conns in $conns_list; do
            for s in $servers; do
                run_load "$s" 1024 "$conns" "$round"
            done
        done
    done
    load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
    cp "$results" "$out/echo_reuseport.tsv"
    echo
    echo "## examples/reuseport_echo: one asyncio-cpp loop per thread on one SO_REUSEPORT port"
    echo
    machine
    echo
    echo "Requests per second:"
    echo
    table 6
    echo
    echo "Server CPU us per request (all threads):"
    echo
    table 9
    echo
    echo "Latency p50 / p99, us:"
    echo
    table 7 p50p99
    [ -s "$failures" ] && echo && echo "Some runs FAILED; their output is in $failures" && exit 1
    exit 0
fi

# --- 5b. rounds -------------------------------------------------------------------------------
for round in $(seq 1 "$rounds"); do
    for size in $sizes; do
        for conns in $conns_list; do
            for s in $servers; do
                run_load "$s" "$size" "$conns" "$round"
            done
        done
    done
done

# --- 5c. memory per idle connection -----------------------------------------------------------
idle_results="$out/echo_idle.tsv"
printf 'server\tconns\trss_before_kb\trss_after_kb\tbytes_per_conn\n' >"$idle_results"
idle_note=""
if [ "$do_idle" -eq 1 ]; then
    for s in asyncio-cpp asio uvloop-streams cpython-streams; do
        [[ " $servers " == *" $s "* ]] || continue
        status=0
        if start_server "$s"; then
            timeout 120 "$out/echo_load" --port "$port" --idle "$idle" --server-pid "$server_pid" \
                --label "$s" >"$out/load.out" 2>&1 || status=$?
        else
            status=99
            echo "server did not print ready within 10 s" >"$out/load.out"
        fi
        stop_server
        line="$(head -n 1 "$out/load.out")"
        re="^echo-idle server=$s conns=$idle rss_before_kb=([0-9]+) rss_after_kb=([0-9]+) "
        re+="bytes_per_conn=(-?[0-9]+)$"
        if [ "$status" -eq 0 ] && [[ "$line" =~ $re ]]; then
            printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$idle" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
                "${BASH_REMATCH[3]}" >>"$idle_results"
            echo "idle  $line"
        elif [ "$status" -eq 77 ]; then
            idle_note="skipped: $line"
            echo "idle  $line"
            break
        else
            echo "idle  $s FAILED (exit $status)"
            record_failure "idle: $s" "$status" "$out/load.out"
            printf '%s\t%s\tFAIL\tFAIL\tFAIL\n' "$s" "$idle" >>"$idle_results"
        fi
    done
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "## Echo servers: asyncio-cpp beside asio, uvloop and CPython (medians of $rounds rounds)"
echo
machine
echo
echo "Requests per second (on $(nproc) CPUs the generator needs about one of them, so these are"
echo "squeezed together; the CPU per request below is each server's own cost):"
echo
table 6
echo
echo "Server CPU us per request (utime + stime over requests; target: asyncio-cpp / asio <= 0.80x):"
echo
table 9 ratio
echo
echo "Latency p50 / p99, us (from the first byte sent to the last byte of the echo received):"
echo
table 7 p50p99
if [ "$do_idle" -eq 1 ]; then
    echo
    echo "Memory per idle connection ($idle connections open, each used once; server VmRSS after"
    echo "minus before, over the connections; one run):"
    echo
    if [ -n "$idle_note" ]; then
        echo "$idle_note"
    else
        echo "| server | bytes per connection | VmRSS before (KiB) | after (KiB) |"
        echo "|---|---:|---:|---:|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s |\n", $1, $5, $3, $4 }' "$idle_results"
    fi
fi
echo
echo "Raw runs: $results"
if [ -s "$failures" ]; then
    echo
    echo "Some runs FAILED; their output is in $failures"
    exit 1
fi
