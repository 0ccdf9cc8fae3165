#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packaging test asyncio.package.single_header: the single header copied alone into a fresh
# directory and compiled with nothing but -I, as the README says.
#
#   bash tests/package/single_header/build.sh SOURCE_DIR WORK_DIR MAIN_CPP
#
# Between the markers: the README's single-header commands, verbatim
# (asyncio.package.readme_snippets keeps the two equal); they run in WORK_DIR, which holds only
# main.cpp and asyncio-cpp, a link to SOURCE_DIR, so nothing but the copied header is reachable.
# The README says g++; the test runs the leg's compiler with its flags instead: $CXX, $CXXFLAGS,
# $LDFLAGS (g++ and no flags when unset).
set -euo pipefail

src=$(cd "$1" && pwd)
work=${2:?usage: build.sh SOURCE_DIR WORK_DIR MAIN_CPP}
main=${3:?usage: build.sh SOURCE_DIR WORK_DIR MAIN_CPP}
rm -rf "$work"
mkdir -p "$work"
cp "$main" "$work/main.cpp"
cd "$work"
ln -s "$src" asyncio-cpp

g++() {
    # shellcheck disable=SC2086 # the flag variables are lists of words
    command "${CXX:-g++}" ${CXXFLAGS-} "$@" ${LDFLAGS-}
}

set -x
# --- README snippet begin ---
mkdir -p third_party/asyncio
cp asyncio-cpp/single_include/asyncio/asyncio.hpp third_party/asyncio/
g++ -std=c++20 -I third_party main.cpp -o app
./app
# --- README snippet end ---
