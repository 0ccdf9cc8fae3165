// SPDX-License-Identifier: MIT
// py_random: the part of Python's `random` module that asyncq needs, bit for bit.
//
// Python's random.Random is the Mersenne Twister MT19937 (Matsumoto and Nishimura, 1998).
// `random.seed(n)` for an int n runs the reference `init_by_array` on the 32-bit words of abs(n),
// least significant word first, and `randint(a, b)` draws by rejection from the top bits of one
// 32-bit output (`_randbelow_with_getrandbits`). Reproducing both lets the C++ port of asyncq.py
// print the very sleeps and counts the Python program prints for the same seed.
// std::mt19937 has the same generator but seeds it differently (seed_seq), hence this class.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace py_random {

/// random.Random restricted to seed(int), getrandbits(k <= 64) and randint(a, b).
class random {
public:
    /// random.Random(seed): the same as constructing and then calling seed(seed).
    explicit random(std::int64_t seed) { this->seed(seed); }

    /// random.seed(n) for an int n: init_by_array over the 32-bit words of abs(n).
    void seed(std::int64_t n) {
        // abs() through unsigned arithmetic, so INT64_MIN has a magnitude too.
        const std::uint64_t magnitude = n < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(n)
                                              : static_cast<std::uint64_t>(n);
        std::vector<std::uint32_t> key;
        key.push_back(static_cast<std::uint32_t>(magnitude & 0xffffffffU));
        if ((magnitude >> 32U) != 0) {
            key.push_back(static_cast<std::uint32_t>(magnitude >> 32U));
        }
        init_by_array(key);
    }

    /// random.getrandbits(k) for 0 <= k <= 64. Python fills the result 32 bits at a time from
    /// the least significant word up; the last (most significant) word keeps the top bits of its
    /// output. Throws std::invalid_argument when k > 64 (Python allows any k).
    std::uint64_t getrandbits(unsigned k) {
        if (k > 64) {
            throw std::invalid_argument("py_random::getrandbits: k must be at most 64");
        }
        if (k == 0) {
            return 0;
        }
        if (k <= 32) {
            return genrand_uint32() >> (32U - k);
        }
        const std::uint64_t low = genrand_uint32();
        const std::uint64_t high = genrand_uint32() >> (64U - k);
        return low | (high << 32U);
    }

    /// random.randint(a, b): uniform in [a, b], both ends included; randrange(a, b + 1).
    /// Throws std::invalid_argument when b < a (Python raises ValueError) or when the range has
    /// 2**64 values (a full int64 range; Python would need 65 bits).
    std::int64_t randint(std::int64_t a, std::int64_t b) {
        if (b < a) {
            throw std::invalid_argument("py_random::randint: empty range");
        }
        const std::uint64_t n = static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a) + 1U;
        if (n == 0) {
            throw std::invalid_argument("py_random::randint: range of 2**64 values");
        }
        // a + r <= b: computed in unsigned arithmetic, where the wrap-around is defined.
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + randbelow(n));
    }

private:
    static constexpr std::size_t n_ = 624;
    static constexpr std::size_t m_ = 397;
    static constexpr std::uint32_t matrix_a = 0x9908b0dfU;
    static constexpr std::uint32_t upper_mask = 0x80000000U;
    static constexpr std::uint32_t lower_mask = 0x7fffffffU;

    // random._randbelow_with_getrandbits: k = n.bit_length(); retry while r >= n.
    std::uint64_t randbelow(std::uint64_t n) {
        unsigned k = 0;
        for (std::uint64_t v = n; v != 0; v >>= 1U) {
            ++k;
        }
        std::uint64_t r = getrandbits(k);
        while (r >= n) {
            r = getrandbits(k);
        }
        return r;
    }

    // The reference init_genrand.
    void init_genrand(std::uint32_t s) {
        mt_[0] = s;
        for (std::size_t i = 1; i < n_; ++i) {
            mt_[i] =
                1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30U)) + static_cast<std::uint32_t>(i);
        }
        index_ = n_;
    }

    // The reference init_by_array.
    void init_by_array(const std::vector<std::uint32_t>& key) {
        init_genrand(19650218U);
        std::size_t i = 1;
        std::size_t j = 0;
        for (std::size_t k = (n_ > key.size() ? n_ : key.size()); k > 0; --k) {
            mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30U)) * 1664525U)) + key[j] +
                     static_cast<std::uint32_t>(j);
            ++i;
            ++j;
            if (i >= n_) {
                mt_[0] = mt_[n_ - 1];
                i = 1;
            }
            if (j >= key.size()) {
                j = 0;
            }
        }
        for (std::size_t k = n_ - 1; k > 0; --k) {
            mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30U)) * 1566083941U)) -
                     static_cast<std::uint32_t>(i);
            ++i;
            if (i >= n_) {
                mt_[0] = mt_[n_ - 1];
                i = 1;
            }
        }
        mt_[0] = 0x80000000U; // the most significant bit is 1: a non-zero initial state
        index_ = n_;
    }

    // The reference genrand_int32: regenerate the 624 words when used up, then temper.
    std::uint32_t genrand_uint32() {
        if (index_ >= n_) {
            for (std::size_t kk = 0; kk < n_; ++kk) {
                const std::uint32_t y = (mt_[kk] & upper_mask) | (mt_[(kk + 1) % n_] & lower_mask);
                mt_[kk] = mt_[(kk + m_) % n_] ^ (y >> 1U) ^ ((y & 1U) != 0 ? matrix_a : 0U);
            }
            index_ = 0;
        }
        std::uint32_t y = mt_[index_++];
        y ^= (y >> 11U);
        y ^= (y << 7U) & 0x9d2c5680U;
        y ^= (y << 15U) & 0xefc60000U;
        y ^= (y >> 18U);
        return y;
    }

    std::array<std::uint32_t, n_> mt_{};
    std::size_t index_ = n_;
};

} // namespace py_random
