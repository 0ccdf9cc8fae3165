#!/usr/bin/env bash
# Builds asyncio's examples (tests and benchmarks off) and runs each one. The programs land in
# build/examples/ itself (build/examples/asyncq, ...), the path the README gives; a preset build
# puts them in build/<preset>/examples/ instead.
#
#   bash scripts/examples.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh cmake ninja-build g++

build=build/examples
cmake -S . -B "$build" -G Ninja \
    -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_EXTENSIONS=OFF \
    -DASYNCIO_BUILD_TESTS=OFF \
    -DASYNCIO_BUILD_BENCH=OFF \
    -DASYNCIO_BUILD_EXAMPLES=ON \
    -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$PWD/$build"
cmake --build "$build" --parallel 2

# examples/<name>.cpp builds the program <name> (see examples/CMakeLists.txt).
for src in examples/*.cpp; do
    name=$(basename "$src" .cpp)
    args=()
    case "$name" in
        # On the real clock asyncq takes about 46 s; the virtual clock skips the waits
        # (same lines, same order). Run build/examples/asyncq without it to watch in real time.
        asyncq) args=(--virtual-time) ;;
        # countasync runs on the real clock here (one second); its CTest test uses --virtual-time.
        # reuseport_echo without arguments serves until Ctrl-C; --self-test serves, checks 20
        # clients on 127.0.0.1 and stops.
        reuseport_echo) args=(--self-test) ;;
    esac
    echo
    echo "== $name ${args[*]}"
    "$build/$name" "${args[@]}"
done
