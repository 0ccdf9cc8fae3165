// SPDX-License-Identifier: MIT
// Maps std::mt19937's raw output to integer ranges by a fixed formula, so a seed reproduces on
// every standard library.
#pragma once

#include <cstdint>
#include <random>

namespace asyncio::testing {

/// An integer in [lo, hi] (lo <= hi) from one raw 32-bit output of `rng`: (x * span) >> 32, the
/// multiply-shift mapping, slightly biased for spans that do not divide 2^32, which random tests
/// do not mind. Use it instead of std::uniform_int_distribution, whose algorithm the standard
/// leaves to the library: libstdc++ and libc++ draw different numbers from the same seed, so a
/// seed that fails on the libc++ leg would not reproduce on g++. std::mt19937's own output is
/// fixed by the standard.
inline int draw(std::mt19937& rng, int lo, int hi) {
    const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1);
    const std::uint64_t x = rng();
    return static_cast<int>(static_cast<std::int64_t>(lo) +
                            static_cast<std::int64_t>((x * span) >> 32U));
}

} // namespace asyncio::testing
