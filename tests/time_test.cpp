// SPDX-License-Identifier: MIT
// Tests for detail/time.hpp: to_nanoseconds against an exact 128-bit reference for every integer
// representation and a range of ratios, and a table of floating-point conversions.

#include "support/catch.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <ratio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using asyncio::detail::max_ns;
using asyncio::detail::min_ns;
using asyncio::detail::to_nanoseconds;

// The reference is computed with the compilers' 128-bit integers, independently of the library's
// portable arithmetic.
__extension__ using uint128 = unsigned __int128;

/// `v` units of N/D seconds as nanoseconds, truncated toward zero and clamped to int64.
template <class Period> std::int64_t reference_ns(long double sign, uint128 magnitude) {
    constexpr auto n = static_cast<uint128>(Period::num);
    constexpr auto d = static_cast<uint128>(Period::den);
    constexpr uint128 giga = 1'000'000'000;
    // Far beyond 2^64 nanoseconds: saturated (the estimate is only used well away from it).
    const long double estimate = static_cast<long double>(magnitude) *
                                 static_cast<long double>(Period::num) * 1e9L /
                                 static_cast<long double>(Period::den);
    uint128 ns = 0;
    if (estimate > 0x1p65L) {
        ns = uint128{1} << 65;
    } else {
        // magnitude * N is about 2^65 * D / 10^9 at most, below 2^98; p % d * 10^9 < 2^93.
        const uint128 p = magnitude * n;
        ns = p / d * giga + p % d * giga / d;
    }
    const uint128 limit = uint128{1} << 63;
    if (sign < 0) {
        return ns >= limit ? min_ns : -static_cast<std::int64_t>(ns);
    }
    return ns >= limit ? max_ns : static_cast<std::int64_t>(ns);
}

/// Values of `Rep` worth converting with `Period`: the limits of `Rep` and their neighbours,
/// zero and one, the counts on either side of where the result saturates, and random ones.
template <class Rep, class Period> std::vector<Rep> interesting_values(std::mt19937_64& rng) {
    using lim = std::numeric_limits<Rep>;
    std::vector<Rep> vs{Rep{0}, Rep{1}, lim::max(), static_cast<Rep>(lim::max() - 1),
                        static_cast<Rep>(lim::max() / 2)};
    if constexpr (std::is_signed_v<Rep>) {
        vs.push_back(Rep{-1});
        vs.push_back(lim::min());
        vs.push_back(static_cast<Rep>(lim::min() + 1));
        vs.push_back(static_cast<Rep>(lim::min() / 2));
    }
    // The count at which the result reaches 2^63 ns, and its neighbours, both signs.
    const long double threshold = 0x1p63L * static_cast<long double>(Period::den) /
                                  (static_cast<long double>(Period::num) * 1e9L);
    for (long double sign : {1.0L, -1.0L}) {
        for (int delta = -3; delta <= 3; ++delta) {
            const long double t = sign * std::floor(threshold) + static_cast<long double>(delta);
            if (t >= static_cast<long double>(lim::min()) &&
                t <= static_cast<long double>(lim::max())) {
                vs.push_back(static_cast<Rep>(t));
            }
        }
    }
    // Random bit patterns, shifted right by a random amount so that every magnitude appears. The
    // conversion to Rep is modular (C++20), the same on every standard library.
    for (int i = 0; i < 2000; ++i) {
        const std::uint64_t x = rng();
        vs.push_back(static_cast<Rep>(x >> (x % 64)));
    }
    return vs;
}

template <class Rep, class Period> void check_against_reference(std::mt19937_64& rng) {
    std::vector<std::string> mismatches;
    for (const Rep v : interesting_values<Rep, Period>(rng)) {
        const bool negative = v < Rep{0};
        // |v| in unsigned arithmetic, exact for the most negative value too.
        const auto magnitude = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(v)
                                        : static_cast<std::uint64_t>(v);
        const std::int64_t expected =
            reference_ns<Period>(negative ? -1.0L : 1.0L, static_cast<uint128>(magnitude));
        const std::int64_t got = to_nanoseconds(std::chrono::duration<Rep, Period>(v));
        if (got != expected) {
            std::ostringstream s;
            s << (negative ? "-" : "") << magnitude << " units: got " << got << ", expected "
              << expected;
            mismatches.push_back(s.str());
        }
    }
    INFO("Rep of " << sizeof(Rep) << " bytes, " << (std::is_signed_v<Rep> ? "signed" : "unsigned")
                   << ", Period " << Period::num << "/" << Period::den);
    INFO("first mismatch: " << (mismatches.empty() ? std::string("none") : mismatches.front()));
    CHECK(mismatches.empty());
}

template <class Period> void check_every_integer_rep(std::mt19937_64& rng) {
    check_against_reference<std::int8_t, Period>(rng);
    check_against_reference<std::uint8_t, Period>(rng);
    check_against_reference<std::int16_t, Period>(rng);
    check_against_reference<std::uint16_t, Period>(rng);
    check_against_reference<std::int32_t, Period>(rng);
    check_against_reference<std::uint32_t, Period>(rng);
    check_against_reference<std::int64_t, Period>(rng);
    check_against_reference<std::uint64_t, Period>(rng);
    check_against_reference<long long, Period>(rng);
    check_against_reference<unsigned long long, Period>(rng);
    check_against_reference<char, Period>(rng);
}

template <class Rep, class Period> std::int64_t ns(Rep v) {
    return to_nanoseconds(std::chrono::duration<Rep, Period>(v));
}

} // namespace

TEST_CASE("to_nanoseconds: every integer representation and ratio matches an exact reference") {
    std::mt19937_64 rng(10); // std::mt19937_64's output is fixed by the standard
    check_every_integer_rep<std::nano>(rng);
    check_every_integer_rep<std::micro>(rng);
    check_every_integer_rep<std::milli>(rng);
    check_every_integer_rep<std::ratio<1>>(rng);
    check_every_integer_rep<std::ratio<60>>(rng);
    check_every_integer_rep<std::ratio<86400>>(rng);
    check_every_integer_rep<std::ratio<31556952>>(rng); // std::chrono::years
    check_every_integer_rep<std::ratio<1'000'000'000'000>>(rng);
    check_every_integer_rep<std::ratio<std::numeric_limits<std::intmax_t>::max()>>(rng);
    check_every_integer_rep<std::ratio<1, 3>>(rng);
    check_every_integer_rep<std::ratio<2, 3>>(rng);
    check_every_integer_rep<std::ratio<1'000'000'007, 3>>(rng);
    check_every_integer_rep<std::ratio<3, 1'000'000'007>>(rng);
    check_every_integer_rep<std::ratio<1'000'000'000'000'000, 7>>(rng); // N * A overflows 64 bits
    check_every_integer_rep<std::pico>(rng);
    check_every_integer_rep<std::femto>(rng);
    check_every_integer_rep<std::atto>(rng);
    check_every_integer_rep<std::ratio<1, std::numeric_limits<std::intmax_t>::max()>>(rng);
}

TEST_CASE("to_nanoseconds: integer conversions at the limits saturate instead of wrapping") {
    CHECK(ns<std::uint64_t, std::milli>(std::numeric_limits<std::uint64_t>::max()) == max_ns);
    CHECK(ns<std::uint64_t, std::nano>(std::numeric_limits<std::uint64_t>::max()) == max_ns);
    CHECK(ns<std::uint64_t, std::nano>(std::uint64_t{1} << 63) == max_ns);
    CHECK(ns<std::uint64_t, std::nano>((std::uint64_t{1} << 63) - 1) == max_ns);
    CHECK(ns<std::uint64_t, std::nano>((std::uint64_t{1} << 63) - 2) == max_ns - 1);
    CHECK(ns<std::int64_t, std::nano>(min_ns) == min_ns);
    CHECK(ns<std::int64_t, std::micro>(min_ns) == min_ns);
    CHECK(ns<std::int64_t, std::pico>(min_ns) == min_ns / 1000);
    CHECK(ns<std::int64_t, std::pico>(max_ns) == max_ns / 1000);
    CHECK(ns<std::uint64_t, std::atto>(std::numeric_limits<std::uint64_t>::max()) ==
          18'446'744'073);
    CHECK(ns<std::int64_t, std::ratio<1>>(9'223'372'036) == 9'223'372'036'000'000'000);
    CHECK(ns<std::int64_t, std::ratio<1>>(9'223'372'037) == max_ns);
    CHECK(ns<std::int64_t, std::ratio<1>>(-9'223'372'036) == -9'223'372'036'000'000'000);
    CHECK(ns<std::int64_t, std::ratio<1>>(-9'223'372'037) == min_ns);
    CHECK(ns<std::int8_t, std::ratio<1'000'000'000'000>>(-1) == min_ns);
    CHECK(ns<std::uint8_t, std::ratio<1'000'000'000'000>>(1) == max_ns);
    CHECK(ns<std::uint8_t, std::ratio<1'000'000'000'000>>(0) == 0);
    CHECK(ns<int, std::ratio<1, 3>>(-1) == -333'333'333); // toward zero, as duration_cast
    CHECK(ns<int, std::ratio<2, 3>>(2) == 1'333'333'333);
    CHECK(ns<unsigned, std::milli>(500) == 500'000'000);
}

TEST_CASE("to_nanoseconds: floating-point durations truncate toward zero and saturate") {
    constexpr long double two_to_63 = 0x1p63L;
    CHECK(ns<double, std::ratio<1>>(0.5) == 500'000'000);
    CHECK(ns<float, std::milli>(1.5F) == 1'500'000);
    CHECK(ns<double, std::micro>(-2.5) == -2'500);
    CHECK(ns<double, std::nano>(0.9) == 0);
    CHECK(ns<double, std::nano>(-0.9) == 0);
    CHECK(ns<long double, std::ratio<1, 3>>(3.0L) == 1'000'000'000);
    CHECK(ns<double, std::ratio<1, 3>>(1.0) == 333'333'333);
    CHECK(ns<double, std::atto>(1e9) == 1);
    CHECK(ns<double, std::atto>(999'999'999.0) == 0);
    CHECK(ns<double, std::pico>(1500.0) == 1);
    CHECK(ns<double, std::ratio<1>>(9.2e9) == 9'200'000'000'000'000'000);
    CHECK(ns<double, std::ratio<1>>(9.3e9) == max_ns);
    CHECK(ns<double, std::ratio<1>>(-9.3e9) == min_ns);
    CHECK(ns<float, std::ratio<31556952>>(1.0F) == 31'556'952'000'000'000);
    CHECK(ns<double, std::ratio<31556952>>(292.0) == 9'214'629'984'000'000'000);
    CHECK(ns<double, std::ratio<31556952>>(293.0) == max_ns);
    // 2^-40 units of 10^12 s: 10^21 / 2^40 = 909494701.77... ns.
    CHECK(ns<double, std::ratio<1'000'000'000'000>>(0x1p-40) == 909'494'701);
    CHECK(ns<double, std::ratio<1'000'000'000'000>>(1.0) == max_ns);
    CHECK(ns<float, std::ratio<1'000'000'000'000>>(-1.0F) == min_ns);
    // At and around 2^63 ns, the first value that does not fit int64.
    CHECK(ns<double, std::nano>(0x1p63) == max_ns);
    CHECK(ns<double, std::nano>(-0x1p63) == min_ns);
    CHECK(ns<double, std::nano>(std::nextafter(0x1p63, 0.0)) == max_ns - 1023);
    CHECK(ns<double, std::nano>(-std::nextafter(0x1p63, 0.0)) == min_ns + 1024);
    CHECK(ns<float, std::nano>(std::nextafter(0x1p63F, 0.0F)) ==
          9'223'371'487'098'961'920); // 2^63 - 2^39
    if constexpr (std::numeric_limits<long double>::digits >= 64) {
        CHECK(ns<long double, std::nano>(two_to_63 - 1) == max_ns);
        CHECK(ns<long double, std::nano>(two_to_63 - 2) == max_ns - 1);
    }
    CHECK(ns<long double, std::nano>(-two_to_63) == min_ns);
    CHECK(ns<long double, std::nano>(two_to_63) == max_ns);
}

TEST_CASE("to_nanoseconds: infinities saturate and NaN throws, for every floating-point type") {
    CHECK(ns<float, std::milli>(std::numeric_limits<float>::infinity()) == max_ns);
    CHECK(ns<float, std::milli>(-std::numeric_limits<float>::infinity()) == min_ns);
    CHECK(ns<double, std::ratio<1>>(std::numeric_limits<double>::infinity()) == max_ns);
    CHECK(ns<double, std::ratio<1>>(-std::numeric_limits<double>::infinity()) == min_ns);
    CHECK(ns<long double, std::atto>(std::numeric_limits<long double>::infinity()) == max_ns);
    CHECK(ns<long double, std::atto>(-std::numeric_limits<long double>::infinity()) == min_ns);
    CHECK_THROWS_AS((ns<float, std::milli>(std::numeric_limits<float>::quiet_NaN())),
                    std::invalid_argument);
    CHECK_THROWS_AS((ns<double, std::ratio<1>>(std::numeric_limits<double>::quiet_NaN())),
                    std::invalid_argument);
    CHECK_THROWS_AS((ns<long double, std::ratio<1'000'000'000'000>>(
                        std::numeric_limits<long double>::quiet_NaN())),
                    std::invalid_argument);
}

TEST_CASE("to_nanoseconds: a floating-point count that is a whole number agrees with the integer") {
    // Whole counts small enough that long double holds every product exactly.
    std::mt19937_64 rng(5);
    int mismatches = 0;
    for (int i = 0; i < 5000; ++i) {
        const auto v = static_cast<std::int32_t>(static_cast<std::uint32_t>(rng() >> 32));
        const auto d = static_cast<double>(v);
        mismatches += ns<double, std::milli>(d) != ns<std::int32_t, std::milli>(v) ? 1 : 0;
        mismatches += ns<double, std::ratio<60>>(d) != ns<std::int32_t, std::ratio<60>>(v) ? 1 : 0;
        mismatches += ns<double, std::micro>(d) != ns<std::int32_t, std::micro>(v) ? 1 : 0;
        mismatches +=
            ns<double, std::ratio<1, 3>>(d) != ns<std::int32_t, std::ratio<1, 3>>(v) ? 1 : 0;
    }
    CHECK(mismatches == 0);
}
