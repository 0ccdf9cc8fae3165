#!/usr/bin/env bash
# Runs asyncio's whole test suite, one leg per CMake preset (CMakePresets.json):
#
#   asan  g++ 12 Debug with AddressSanitizer + UndefinedBehaviorSanitizer, -Werror
#   dev   g++ 12 Debug, -Werror (runs last)
#
#   bash scripts/test.sh          # the legs above
#   bash scripts/test.sh --all    # the wider compiler matrix; for now the same two legs
#                                 # (clang legs are to be added here)
#
# Installs its build dependencies with apt-get first (scripts/deps.sh). Stops at the first leg
# that fails. Each leg's configure+build time is printed before its tests run, so the last lines
# of the output are the summary of the last ctest run ("100% tests passed, ..." and
# "Total Test time (real) = ...").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "$0"
}

all=0
for arg in "$@"; do
    case "$arg" in
        --all) all=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "test.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

legs=(asan dev)
if [ "$all" -eq 1 ]; then
    # Reserved for the wider compiler matrix; it runs the same legs until clang legs exist.
    legs=(asan dev)
fi

bash scripts/deps.sh cmake ninja-build g++ catch2 libbenchmark-dev

for leg in "${legs[@]}"; do
    echo
    echo "==== leg $leg ===="
    start=$SECONDS
    cmake --preset "$leg"
    cmake --build --preset "$leg"
    echo "==== leg $leg: configured and built in $((SECONDS - start)) s; running ctest ===="
    ctest --preset "$leg"
done
