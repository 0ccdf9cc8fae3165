// SPDX-License-Identifier: MIT
// A per-loop cache of small memory blocks by size class, for coroutine frames and task states.
#pragma once

#include <asyncio/config.hpp>

#include <array>
#include <cstddef>
#include <new>

namespace asyncio::detail {

/// Keeps freed blocks of up to `max_pooled` bytes in free lists by 16-byte size class, so that a
/// task's frame and state reuse memory instead of calling the global allocator each time. Every
/// block, pooled or not, is allocated with its size rounded up to the class size, so a block can
/// go to any pool or back to the global allocator. A loop owns one pool; cached blocks are
/// released when the loop is destroyed. Disabled under AddressSanitizer (ASYNCIO_NO_BLOCK_POOL),
/// which must see every frame freed to report a use after free.
class block_pool {
public:
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t max_pooled = 1024;

    [[nodiscard]] static constexpr std::size_t rounded(std::size_t n) noexcept {
        return (n + granule - 1) & ~(granule - 1);
    }

    block_pool() noexcept = default;
    block_pool(const block_pool&) = delete;
    block_pool& operator=(const block_pool&) = delete;
    ~block_pool() {
        for (std::size_t i = 0; i < heads_.size(); ++i) {
            while (free_block* b = heads_[i]) {
                heads_[i] = b->next;
                free_raw(b, (i + 1) * granule);
            }
        }
    }

    [[nodiscard]] void* allocate(std::size_t n) {
        n = rounded(n);
        if (n <= max_pooled) {
            free_block*& head = heads_[n / granule - 1];
            if (free_block* b = head) {
                head = b->next;
                return b;
            }
        }
        return ::operator new(n);
    }

    void deallocate(void* p, std::size_t n) noexcept {
        n = rounded(n);
        if (n <= max_pooled) {
            free_block*& head = heads_[n / granule - 1];
            head = ::new (p) free_block{head};
            return;
        }
        free_raw(p, n);
    }

    /// The global deallocation for a block of (rounded) size `n`.
    static void free_raw(void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(__cpp_sized_deallocation)
        ::operator delete(p, n);
#else
        ::operator delete(p);
#endif
    }

private:
    struct free_block {
        free_block* next;
    };
    std::array<free_block*, max_pooled / granule> heads_{};
};

} // namespace asyncio::detail
