#!/usr/bin/env bash
# Installs with apt-get the Debian packages asyncio's build and test legs need.
#
#   bash scripts/deps.sh                # everything: cmake ninja-build g++ catch2 libbenchmark-dev
#                                       # python3 curl socat (the interop tests' peers)
#   bash scripts/deps.sh PKG...         # only the packages named
#
# Idempotent: when every package is already installed (checked with dpkg -s) apt is not touched.
# Uses sudo when not run as root.
set -euo pipefail

packages=(cmake ninja-build g++ catch2 libbenchmark-dev python3 curl socat)
if [ "$#" -gt 0 ]; then
    packages=("$@")
fi

missing=()
for pkg in "${packages[@]}"; do
    # Captured first: with pipefail, grep -q closing the pipe early could fail the check.
    status=$(dpkg -s "$pkg" 2>/dev/null || true)
    if ! grep -qx 'Status: install ok installed' <<<"$status"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: already installed: ${packages[*]}"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps: missing ${missing[*]}; not root and sudo is not available" >&2
        exit 1
    fi
    SUDO=sudo
fi

echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
