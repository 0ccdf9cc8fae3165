// SPDX-License-Identifier: MIT
// Conversion of any std::chrono duration to the loop's integer nanoseconds, with saturation.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ratio>
#include <stdexcept>

namespace asyncio::detail {

inline constexpr std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t min_ns = std::numeric_limits<std::int64_t>::min();

/// `a + b` clamped to the int64 range, so "sleep for hours::max()" means "never" and not overflow.
[[nodiscard]] constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
    if (b > 0 && a > max_ns - b) {
        return max_ns;
    }
    if (b < 0 && a < min_ns - b) {
        return min_ns;
    }
    return a + b;
}

/// Any duration as nanoseconds, saturating at the int64 limits. A NaN floating-point duration
/// throws std::invalid_argument, as `asyncio.sleep(nan)` raises ValueError in Python 3.13.
template <class Rep, class Period>
[[nodiscard]] std::int64_t to_nanoseconds(std::chrono::duration<Rep, Period> d) {
    if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
        const long double ns = std::chrono::duration<long double, std::nano>(d).count();
        if (std::isnan(ns)) {
            throw std::invalid_argument("Invalid delay: NaN (not a number)");
        }
        if (ns >= static_cast<long double>(max_ns)) {
            return max_ns;
        }
        if (ns <= static_cast<long double>(min_ns)) {
            return min_ns;
        }
        return static_cast<std::int64_t>(ns);
    } else if constexpr (std::ratio_less_equal_v<Period, std::nano>) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    } else {
        using src = std::chrono::duration<Rep, Period>;
        constexpr auto hi = std::chrono::duration_cast<src>(std::chrono::nanoseconds::max());
        constexpr auto lo = std::chrono::duration_cast<src>(std::chrono::nanoseconds::min());
        if (d >= hi) {
            return max_ns;
        }
        if (d <= lo) {
            return min_ns;
        }
        return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    }
}

} // namespace asyncio::detail
