// SPDX-License-Identifier: MIT
// Conversion of any std::chrono duration to the loop's integer nanoseconds, with saturation.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <ratio>
#include <stdexcept>
#include <type_traits>
#include <utility>

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

/// A 128-bit unsigned value, `hi * 2^64 + lo`: the exact products of `to_nanoseconds`, written
/// out so that it needs no compiler extension (`__int128`).
struct wide_uint {
    std::uint64_t hi;
    std::uint64_t lo;
};

/// The exact product `a * b`.
[[nodiscard]] constexpr wide_uint wide_multiply(std::uint64_t a, std::uint64_t b) noexcept {
    constexpr std::uint64_t low_half = 0xffff'ffff;
    const std::uint64_t a_lo = a & low_half;
    const std::uint64_t a_hi = a >> 32;
    const std::uint64_t b_lo = b & low_half;
    const std::uint64_t b_hi = b >> 32;
    const std::uint64_t ll = a_lo * b_lo;
    const std::uint64_t lh = a_lo * b_hi;
    const std::uint64_t hl = a_hi * b_lo;
    const std::uint64_t mid = (ll >> 32) + (lh & low_half) + (hl & low_half); // < 3 * 2^32
    return {a_hi * b_hi + (lh >> 32) + (hl >> 32) + (mid >> 32), (mid << 32) | (ll & low_half)};
}

/// `x / d` and `x % d` for `x.hi < d`, where the quotient fits 64 bits (binary long division).
struct wide_quotient {
    std::uint64_t quotient;
    std::uint64_t remainder;
};
[[nodiscard]] constexpr wide_quotient wide_divide(wide_uint x, std::uint64_t d) noexcept {
    std::uint64_t q = 0;
    std::uint64_t r = x.hi; // < d throughout
    for (int bit = 63; bit >= 0; --bit) {
        // r < d, so 2r + 1 < 2d: one subtraction brings it back below d (the carry is 2^64).
        const bool carry = (r >> 63) != 0;
        r = (r << 1) | ((x.lo >> bit) & 1U);
        if (carry || r >= d) {
            r -= d;
            q |= std::uint64_t{1} << bit;
        }
    }
    return {q, r};
}

inline constexpr std::uint64_t wide_saturated = std::numeric_limits<std::uint64_t>::max();

/// `floor(m * Period / 1ns)`, the nanoseconds in `m` units of `Period`, exact, or
/// `wide_saturated` (2^64 - 1) for any result that does not fit 64 bits. With `Period` = N/D
/// and G = gcd(10^9, D), that is `floor(m * N * A / B)` for A = 10^9 / G and B = D / G.
template <class Period>
[[nodiscard]] constexpr std::uint64_t scale_to_nanoseconds(std::uint64_t m) {
    constexpr auto n = static_cast<std::uint64_t>(Period::num);
    constexpr auto d = static_cast<std::uint64_t>(Period::den);
    constexpr std::uint64_t giga = 1'000'000'000;
    constexpr std::uint64_t g = std::gcd(giga, d);
    constexpr std::uint64_t a = giga / g;
    constexpr std::uint64_t b = d / g;
    constexpr bool product_fits = n <= wide_saturated / a; // N * A fits 64 bits
    constexpr std::uint64_t na = product_fits ? n * a : 0;
    if constexpr (product_fits && b == 1) {
        // Whole nanoseconds per unit: seconds, milliseconds, minutes, nanoseconds, ...
        return m > wide_saturated / na ? wide_saturated : m * na;
    } else if constexpr (product_fits && na <= wide_saturated / b) {
        // m = qB + r, so m * NA / B = q * NA + r * NA / B, and r * NA < B * NA fits.
        const std::uint64_t q = m / b;
        const std::uint64_t r = m % b;
        if (na != 0 && q > wide_saturated / na) {
            return wide_saturated;
        }
        const std::uint64_t whole = q * na;
        const std::uint64_t part = r * na / b;
        return whole > wide_saturated - part ? wide_saturated : whole + part;
    } else {
        // Huge ratios (and exotic ones): the same split, with m * N and r * A in 128 bits.
        const wide_uint mn = wide_multiply(m, n);
        if (mn.hi >= b) {
            return wide_saturated; // m * N / B >= 2^64, and A >= 1
        }
        const wide_quotient qr = wide_divide(mn, b);
        if (qr.quotient > wide_saturated / a) {
            return wide_saturated;
        }
        const std::uint64_t whole = qr.quotient * a;
        // r < B, so r * A < B * 2^64: its quotient by B fits (and is below A).
        const std::uint64_t part = wide_divide(wide_multiply(qr.remainder, a), b).quotient;
        return whole > wide_saturated - part ? wide_saturated : whole + part;
    }
}

/// The nanoseconds in one unit of `Period` as the fraction N * A / B of `scale_to_nanoseconds`,
/// in long double (N * A rounded when it exceeds 64 bits: a ratio of thousands of years).
template <class Period>
inline constexpr std::pair<long double, long double> nanoseconds_per_unit{
    static_cast<long double>(Period::num) *
        static_cast<long double>(1'000'000'000 /
                                 std::gcd(std::intmax_t{1'000'000'000}, Period::den)),
    static_cast<long double>(Period::den / std::gcd(std::intmax_t{1'000'000'000}, Period::den))};

/// Any duration as nanoseconds, truncated toward zero as `duration_cast` does, saturating at the
/// int64 limits: exact for every integer representation (signed or unsigned, 8 to 64 bits) and
/// any ratio, from `std::atto` to ratios of many years, where `duration_cast` itself would wrap
/// or overflow; floating-point representations are computed in long double, +/-infinity
/// saturating. A NaN throws std::invalid_argument, as `asyncio.sleep(nan)` raises ValueError in
/// Python 3.13. A class-type representation goes through `static_cast<long double>`.
template <class Rep, class Period>
[[nodiscard]] std::int64_t to_nanoseconds(std::chrono::duration<Rep, Period> d) {
    if constexpr (std::is_integral_v<Rep>) {
        static_assert(sizeof(Rep) <= sizeof(std::uint64_t), "integer durations of up to 64 bits");
        const Rep v = d.count();
        constexpr auto min_magnitude = std::uint64_t{1} << 63; // |min_ns|
        if constexpr (std::is_signed_v<Rep>) {
            if (v < 0) {
                // 0 - v in unsigned arithmetic: exact even for the most negative value.
                const std::uint64_t m =
                    scale_to_nanoseconds<Period>(std::uint64_t{0} - static_cast<std::uint64_t>(v));
                return m >= min_magnitude ? min_ns : -static_cast<std::int64_t>(m);
            }
        }
        const std::uint64_t m = scale_to_nanoseconds<Period>(static_cast<std::uint64_t>(v));
        return m >= min_magnitude ? max_ns : static_cast<std::int64_t>(m);
    } else if constexpr (std::is_floating_point_v<Rep>) {
        const auto v = static_cast<long double>(d.count());
        if (std::isnan(v)) {
            throw std::invalid_argument("Invalid delay: NaN (not a number)");
        }
        // v * N * A / B (see scale_to_nanoseconds), the product first: milliseconds scale by
        // 10^6 as duration_cast does, and a whole number of units of 1/3 s comes out whole.
        const long double ns =
            v * nanoseconds_per_unit<Period>.first / nanoseconds_per_unit<Period>.second;
        constexpr long double two_to_63 = 0x1p63L; // exact in every floating-point type
        if (ns >= two_to_63) {
            return max_ns;
        }
        if (ns <= -two_to_63) {
            return min_ns;
        }
        return static_cast<std::int64_t>(ns);
    } else {
        return to_nanoseconds(
            std::chrono::duration<long double, Period>(static_cast<long double>(d.count())));
    }
}

} // namespace asyncio::detail
