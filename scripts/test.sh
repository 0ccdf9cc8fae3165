#!/usr/bin/env bash
# Runs asyncio's test suite, one leg at a time:
#
#   format        clang-format-19 --dry-run --Werror on every tracked .hpp/.cpp (not single_include/)
#   tidy          clang-tidy-19 (.clang-tidy, coroutine checks) on one TU including every header
#   clang14       clang 14 + libstdc++ 12 Debug, -Werror: the oldest compiler supported
#   clang-libcxx  clang 19 + libc++ 19 Debug, -Werror
#   asan          g++ 12 Debug with AddressSanitizer + UndefinedBehaviorSanitizer, -Werror
#   asan-pool     the same, the tests built again with the loop's arena kept (ASYNCIO_POOL_UNDER_ASAN):
#                 ASan then checks the arena's own poisoning (asyncio.pool_asan.*)
#   tsan          g++ 12 RelWithDebInfo with ThreadSanitizer, -Werror: the test cases tagged
#                 [threads] or [io] (asyncio_thread_tests, built from the files that have some)
#   examples      scripts/examples.sh: the README's quick start (builds every example, runs each)
#   dev           g++ 12 Debug, -Werror, plus tests built against the single header (runs last)
#
#   bash scripts/test.sh                  # asan, dev (about 15 minutes on a 2-core machine)
#   bash scripts/test.sh --all            # every leg above, in that order (CI: .ci/run; about 30)
#   bash scripts/test.sh --only LEG,...   # just these legs, e.g. --only format,tidy
#   bash scripts/test.sh --all --skip LEG,...
#
# The compiler legs are CMake presets (CMakePresets.json, trees in build/<leg>): configure, build,
# then ctest, whose tests include the packaging tests (install + find_package, FetchContent,
# add_subdirectory, single header, vcpkg port) built with that leg's compiler and flags; the tsan
# leg builds only asyncio_thread_tests and runs it on the tags [threads] and [io].
# Installs what the chosen legs need with apt-get first (scripts/deps.sh). Stops at the first leg
# that fails. Prints each leg's time; the last lines of the output are the summary of the last
# ctest run ("100% tests passed, ..." and "Total Test time (real) = ...").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    sed -n '2,27s/^# \{0,1\}//p' "$0"
}

all_legs=(format tidy clang14 clang-libcxx asan asan-pool tsan examples dev)
legs=(asan dev)
only=""
skip=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --all) legs=("${all_legs[@]}") ;;
        --only) only=${2:?--only needs a list of legs}; shift ;;
        --only=*) only=${1#--only=} ;;
        --skip) skip=${2:?--skip needs a list of legs}; shift ;;
        --skip=*) skip=${1#--skip=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for name in ${only//,/ } ${skip//,/ }; do
    case " ${all_legs[*]} " in
        *" $name "*) ;;
        *) echo "test.sh: unknown leg '$name' (legs: ${all_legs[*]})" >&2; exit 2 ;;
    esac
done
if [ -n "$only" ]; then
    legs=()
    for leg in "${all_legs[@]}"; do
        case ",$only," in *",$leg,"*) legs+=("$leg") ;; esac
    done
fi
selected=()
for leg in "${legs[@]}"; do
    case ",$skip," in *",$leg,"*) ;; *) selected+=("$leg") ;; esac
done
legs=("${selected[@]}")
if [ "${#legs[@]}" -eq 0 ]; then
    echo "test.sh: no leg left to run" >&2
    exit 2
fi

# --- dependencies: one apt run for every leg chosen -----------------------------------------------
packages=()
for leg in "${legs[@]}"; do
    case "$leg" in
        format) packages+=(clang-format-19 git) ;;
        tidy) packages+=(clang-tidy-19) ;;
        clang14) packages+=(cmake ninja-build clang-14 g++ catch2 python3) ;;
        clang-libcxx) packages+=(cmake ninja-build clang-19 libc++-19-dev libc++abi-19-dev
                                 libclang-rt-19-dev catch2 python3) ;;
        asan | asan-pool | dev) packages+=(cmake ninja-build g++ catch2 libbenchmark-dev python3) ;;
        examples) packages+=(cmake ninja-build g++) ;;
        tsan) packages+=(cmake ninja-build g++ catch2 python3) ;;
    esac
    # The interop tests' peers (tests/interop_test.cpp, tests/interop/): without them those tests
    # only warn or report a skip.
    case "$leg" in
        clang14 | clang-libcxx | asan | asan-pool | tsan | dev) packages+=(curl socat) ;;
    esac
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
start=$SECONDS
bash scripts/deps.sh "${packages[@]}"
times=("deps $((SECONDS - start)) s")

# --- the legs -------------------------------------------------------------------------------------
leg_format() {
    local files=() bad=() f
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # Tracked files, plus new ones not yet added (not ignored), so it also works before a commit.
        while IFS= read -r f; do
            [ -f "$f" ] && files+=("$f")
        done < <(git ls-files --cached --others --exclude-standard -- '*.hpp' '*.cpp' \
                     ':!:single_include/*' | sort -u)
    else
        mapfile -t files < <(find include tests examples bench tools -name '*.[hc]pp' 2>/dev/null |
                             grep -v '^single_include/' | sort)
    fi
    for f in "${files[@]}"; do
        clang-format-19 --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
    done
    if [ "${#bad[@]}" -gt 0 ]; then
        echo "format: ${#bad[@]} of ${#files[@]} files are not clang-format-19 clean:"
        printf '  %s\n' "${bad[@]}"
        echo "format: the first differences in ${bad[0]}:"
        clang-format-19 --dry-run "${bad[0]}" 2>&1 | head -n 20 || true
        echo "format: fix them with: clang-format-19 -i ${bad[*]}"
        return 1
    fi
    echo "format: ${#files[@]} files are clang-format-19 clean"
}

leg_tidy() {
    # One generated TU including every header: each header is checked in a real context once,
    # and .clang-tidy's HeaderFilterRegex keeps the diagnostics to asyncio-cpp's own headers.
    local dir=$PWD/build/tidy h
    rm -rf "$dir"
    mkdir -p "$dir/canary/include/asyncio"
    {
        echo "// Generated by scripts/test.sh (leg tidy): every asyncio-cpp header."
        for h in $(cd include && find asyncio -name '*.hpp' | LC_ALL=C sort); do
            echo "#include <$h>"
        done
    } >"$dir/all_headers.cpp"
    # First a canary: a header under include/asyncio/ with a coroutine taking a reference must be
    # reported, or the header filter or the coroutine checks are not in effect and a clean run
    # below would prove nothing.
    cat >"$dir/canary/include/asyncio/canary.hpp" <<'EOF_CANARY'
#pragma once
#include <coroutine>
#include <string>
struct canary_task {
    struct promise_type {
        canary_task get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};
inline canary_task canary(const std::string& s) { static_cast<void>(s); co_return; }
EOF_CANARY
    echo '#include <asyncio/canary.hpp>' >"$dir/canary/canary.cpp"
    local out
    out=$(clang-tidy-19 --quiet --config-file=.clang-tidy "$dir/canary/canary.cpp" \
              -- -std=c++20 "-I$dir/canary/include" 2>&1 || true)
    if grep -q 'cppcoreguidelines-avoid-reference-coroutine-parameters' <<<"$out"; then
        echo "tidy: canary reported as expected"
    else
        echo "tidy: the canary header was not reported: .clang-tidy's checks or" \
             "HeaderFilterRegex do not reach include/asyncio/" >&2
        return 1
    fi
    echo "tidy: clang-tidy-19 on $dir/all_headers.cpp ($(grep -c '^#include' "$dir/all_headers.cpp") headers)"
    clang-tidy-19 --quiet --config-file=.clang-tidy "$dir/all_headers.cpp" \
        -- -std=c++20 "-I$PWD/include"
    echo "tidy: no findings"
}

leg_cmake() {
    local leg=$1 start=$SECONDS
    cmake --preset "$leg"
    cmake --build --preset "$leg"
    echo "==== leg $leg: configured and built in $((SECONDS - start)) s; running ctest ===="
    ctest --preset "$leg"
}

leg_tsan() {
    # Only the tests whose code crosses threads: the whole suite under TSan would cost far more CI
    # time for code that never leaves the loop's thread (ctest --preset tsan runs the same
    # files, every case in them).
    local start=$SECONDS
    cmake --preset tsan
    cmake --build --preset tsan
    echo "==== leg tsan: configured and built in $((SECONDS - start)) s; running [threads],[io] ===="
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        build/tsan/tests/asyncio_thread_tests "[threads],[io]"
}

last=${legs[${#legs[@]} - 1]}
for leg in "${legs[@]}"; do
    if [ "$leg" = "$last" ] && [ "${#times[@]}" -gt 1 ]; then
        echo
        echo "==== times so far: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g') ===="
    fi
    echo
    echo "==== leg $leg ===="
    start=$SECONDS
    case "$leg" in
        format) leg_format ;;
        tidy) leg_tidy ;;
        tsan) leg_tsan ;;
        examples) bash scripts/examples.sh ;;
        *) leg_cmake "$leg" ;;
    esac
    times+=("$leg $((SECONDS - start)) s")
    # Nothing after the last leg: its ctest summary must end the output.
    if [ "$leg" != "$last" ]; then
        echo "==== leg $leg: passed in $((SECONDS - start)) s ===="
    fi
done
