#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packaging test asyncio.package.install: installs asyncio-cpp with the README's commands, then
# checks the installed tree. asyncio.package.find_package and asyncio.package.fetchcontent_installed
# build consumers against it.
#
#   bash tests/package/install.sh SOURCE_DIR WORK_DIR     # installs into WORK_DIR/home/.local
#
# Between the markers: the README's install commands, verbatim (asyncio.package.readme_snippets
# keeps the two equal); they run in WORK_DIR (deleted first), where asyncio-cpp is a link to
# SOURCE_DIR, and with HOME=WORK_DIR/home, since the README installs into "$HOME/.local". CXX,
# CXXFLAGS, LDFLAGS and CMAKE_GENERATOR, when set, are the leg's compiler, flags and generator
# (CMake reads them).
set -euo pipefail

src=$(cd "$1" && pwd)
work=${2:?usage: install.sh SOURCE_DIR WORK_DIR}
rm -rf "$work"
mkdir -p "$work/home"
work=$(cd "$work" && pwd)
export HOME=$work/home
cd "$work"
ln -s "$src" asyncio-cpp

# --- README snippet begin ---
cmake -S asyncio-cpp -B asyncio-build \
      -DASYNCIO_BUILD_TESTS=OFF -DASYNCIO_BUILD_BENCH=OFF -DASYNCIO_BUILD_EXAMPLES=OFF
cmake --install asyncio-build --prefix "$HOME/.local"
# --- README snippet end ---

prefix=$HOME/.local
status=0
fail() {
    echo "install check: $*" >&2
    status=1
}

# Every header under include/ is installed, and nothing else is installed there.
if ! diff -u <(cd "$src/include" && find . -type f | sort) \
             <(cd "$prefix/include" && find . -type f | sort); then
    fail "the installed headers differ from include/ (- source, + installed)"
fi
cmake_dir=share/cmake/asyncio
for f in asyncioConfig.cmake asyncioConfigVersion.cmake asyncioTargets.cmake; do
    [ -f "$prefix/$cmake_dir/$f" ] || fail "$cmake_dir/$f is not installed"
done
extra=$(cd "$prefix" && find . -type f ! -path './include/*' ! -path "./$cmake_dir/*")
[ -z "$extra" ] || fail "unexpected installed files: $extra"
# The package must be relocatable: no absolute path of the source or build tree in it.
if grep -rl -e "$src" -e "$work/asyncio-build" "$prefix/$cmake_dir"; then
    fail "the files above contain an absolute path of the source or build tree"
fi
# Header-only and architecture-independent: the version file must not check the pointer size.
grep -q 'if("TRUE")' "$prefix/$cmake_dir/asyncioConfigVersion.cmake" ||
    fail "asyncioConfigVersion.cmake is not ARCH_INDEPENDENT"

if [ "$status" -eq 0 ]; then
    echo "install check: $(find "$prefix" -type f | wc -l) files installed under $prefix as expected"
fi
exit "$status"
