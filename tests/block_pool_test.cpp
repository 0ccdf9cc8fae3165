// SPDX-License-Identifier: MIT
// Tests for detail/block_pool.hpp: free-list reuse, carving chunks for every size class, blocks
// going back to their own pool, chunks orphaned by a destroyed pool, and blocks that outlive a
// loop.
//
// The pool is tested directly, so these tests also run under AddressSanitizer, where the library
// itself allocates from the global heap (ASYNCIO_NO_BLOCK_POOL) and the pool poisons what it holds.

#include "support/catch.hpp"

#include <asyncio/asyncio.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(ASYNCIO_HAS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

using asyncio::detail::block_pool;

namespace {

/// Counts the chunks in the whole program (allocations aligned to `chunk_bytes`), through the
/// replacements of the aligned operator new and delete below.
struct chunk_counter {
    static inline std::size_t allocated = 0;
    static inline std::size_t freed = 0;
};

bool is_chunk(std::align_val_t al) noexcept {
    return static_cast<std::size_t>(al) == block_pool::chunk_bytes;
}

void* aligned_new(std::size_t n, std::align_val_t al) {
    const auto a = static_cast<std::size_t>(al);
    void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    if (is_chunk(al)) {
        ++chunk_counter::allocated;
    }
    return p;
}

void aligned_delete(void* p, std::align_val_t al) noexcept {
    if (p != nullptr && is_chunk(al)) {
        ++chunk_counter::freed;
    }
    std::free(p); // NOLINT(cppcoreguidelines-no-malloc): pairs with aligned_alloc above
}

/// The chunks allocated and not yet freed since the census was taken.
class chunk_census {
public:
    [[nodiscard]] std::ptrdiff_t outstanding() const noexcept {
        return static_cast<std::ptrdiff_t>(chunk_counter::allocated - allocated_) -
               static_cast<std::ptrdiff_t>(chunk_counter::freed - freed_);
    }

private:
    std::size_t allocated_ = chunk_counter::allocated;
    std::size_t freed_ = chunk_counter::freed;
};

std::uintptr_t address(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p);
}

std::uintptr_t chunk_of(const void* p) noexcept {
    return address(p) & ~std::uintptr_t{block_pool::chunk_bytes - 1};
}

unsigned char pattern(std::size_t block, std::size_t i) noexcept {
    return static_cast<unsigned char>((block * 31 + i * 7) | 1U);
}

void fill(void* p, std::size_t n, std::size_t block) noexcept {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = pattern(block, i);
    }
}

bool holds(const void* p, std::size_t n, std::size_t block) noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
        if (b[i] != pattern(block, i)) {
            return false;
        }
    }
    return true;
}

} // namespace

// The replaceable aligned allocation functions, counting the pool's chunks. The nothrow and array
// forms of the standard library call these.
void* operator new(std::size_t n, std::align_val_t al) {
    return aligned_new(n, al);
}
void operator delete(void* p, std::align_val_t al) noexcept {
    aligned_delete(p, al);
}
void operator delete(void* p, std::size_t /*n*/, std::align_val_t al) noexcept {
    aligned_delete(p, al);
}

TEST_CASE("block_pool: a freed block is reused for the same size class") {
    const chunk_census census;
    {
        block_pool pool;
        void* a = pool.allocate(100);
        block_pool::deallocate(a, 100);
        void* b = pool.allocate(100);
        CHECK(b == a);
        block_pool::deallocate(b, 100);
        // 97 and 100 bytes (plus the tag byte) share the 112-byte class.
        REQUIRE(block_pool::block_size(97) == block_pool::block_size(100));
        void* c = pool.allocate(97);
        CHECK(c == a);
        // Another class does not take it.
        void* d = pool.allocate(200);
        CHECK(d != a);
        block_pool::deallocate(c, 97);
        block_pool::deallocate(d, 200);
        CHECK(pool.chunk_count() == 1);
        CHECK(census.outstanding() == 1);
    }
    CHECK(census.outstanding() == 0);
}

TEST_CASE("block_pool: the tag byte is part of the block size") {
    CHECK(block_pool::block_size(1) == 16);
    CHECK(block_pool::block_size(15) == 16);
    CHECK(block_pool::block_size(16) == 32);
    CHECK(block_pool::block_size(1023) == 1024);
    CHECK(block_pool::block_size(1024) == 1040);
}

TEST_CASE("block_pool: blocks of every size class are carved across chunk boundaries") {
    const chunk_census census;
    for (std::size_t size = block_pool::granule; size <= block_pool::max_pooled;
         size += block_pool::granule) {
        const std::size_t n = size - 1; // the largest object of the class, with its tag byte
        REQUIRE(block_pool::block_size(n) == size);
        const std::size_t count = 2 * block_pool::chunk_bytes / size + 1; // at least 3 chunks
        std::vector<void*> blocks;
        blocks.reserve(count);
        {
            block_pool pool;
            for (std::size_t i = 0; i < count; ++i) {
                void* p = pool.allocate(n);
                fill(p, n, i);
                blocks.push_back(p);
            }
            std::set<std::uintptr_t> chunks;
            std::set<std::uintptr_t> starts;
            bool aligned = true;
            bool inside_one_chunk = true;
            for (void* p : blocks) {
                aligned = aligned && address(p) % alignof(std::max_align_t) == 0;
                inside_one_chunk = inside_one_chunk && chunk_of(p) != address(p) &&
                                   chunk_of(static_cast<char*>(p) + size - 1) == chunk_of(p);
                chunks.insert(chunk_of(p));
                starts.insert(address(p));
            }
            bool intact = true;
            for (std::size_t i = 0; i < count; ++i) {
                intact = intact && holds(blocks[i], n, i);
            }
            INFO("size class " << size);
            CHECK(aligned);
            CHECK(inside_one_chunk);
            CHECK(intact); // no two blocks overlap, and no block overlaps a chunk header
            CHECK(starts.size() == count);
            CHECK(chunks.size() >= 3);
            CHECK(pool.chunk_count() == chunks.size());
            CHECK(census.outstanding() == static_cast<std::ptrdiff_t>(chunks.size()));
            for (std::size_t i = 0; i < count; ++i) {
                block_pool::deallocate(blocks[i], n);
            }
            // Once freed, the blocks come back before any new chunk is carved.
            const std::size_t chunks_before = pool.chunk_count();
            for (std::size_t i = 0; i < count; ++i) {
                blocks[i] = pool.allocate(n);
            }
            CHECK(pool.chunk_count() == chunks_before);
            for (void* p : blocks) {
                block_pool::deallocate(p, n);
            }
        }
        REQUIRE(census.outstanding() == 0);
    }
}

TEST_CASE("block_pool: a request that does not fit the rest of a chunk starts a new chunk") {
    const chunk_census census;
    block_pool pool;
    std::vector<std::pair<void*, std::size_t>> blocks;
    // 1023-byte objects take 1024-byte blocks: the last of a chunk leaves less than 1024 bytes.
    while (pool.chunk_count() < 2) {
        blocks.emplace_back(pool.allocate(1023), 1023);
    }
    CHECK(chunk_of(blocks.back().first) != chunk_of(blocks.front().first));
    // A small object still fits the first chunk's tail, but is carved from the current one.
    void* small = pool.allocate(10);
    CHECK(chunk_of(small) == chunk_of(blocks.back().first));
    block_pool::deallocate(small, 10);
    for (auto [p, n] : blocks) {
        block_pool::deallocate(p, n);
    }
    CHECK(census.outstanding() == 2);
}

TEST_CASE("block_pool: objects too large for the arena come from the global heap") {
    const chunk_census census;
    block_pool pool;
    void* big = pool.allocate(block_pool::max_pooled);
    fill(big, block_pool::max_pooled, 1);
    CHECK(pool.chunk_count() == 0);
    CHECK(holds(big, block_pool::max_pooled, 1));
    block_pool::deallocate(big, block_pool::max_pooled);
    void* global = block_pool::allocate_global(64);
    fill(global, 64, 2);
    CHECK(holds(global, 64, 2));
    block_pool::deallocate(global, 64);
    CHECK(census.outstanding() == 0);
}

TEST_CASE("block_pool: blocks of two pools freed in interleaved order go back to their own pool") {
    constexpr std::size_t n = 48;
    constexpr std::size_t count = 8;
    block_pool a;
    block_pool b;
    std::set<void*> from_a;
    std::set<void*> from_b;
    std::vector<void*> order;
    for (std::size_t i = 0; i < count; ++i) {
        void* pa = a.allocate(n);
        void* pb = b.allocate(n);
        from_a.insert(pa);
        from_b.insert(pb);
        order.push_back(pa);
        order.push_back(pb);
    }
    for (void* p : order) {
        block_pool::deallocate(p, n);
    }
    std::set<void*> again_a;
    std::set<void*> again_b;
    for (std::size_t i = 0; i < count; ++i) {
        again_b.insert(b.allocate(n));
        again_a.insert(a.allocate(n));
    }
    CHECK(again_a == from_a);
    CHECK(again_b == from_b);
    for (void* p : again_a) {
        block_pool::deallocate(p, n);
    }
    for (void* p : again_b) {
        block_pool::deallocate(p, n);
    }
    CHECK(a.chunk_count() == 1);
    CHECK(b.chunk_count() == 1);
}

TEST_CASE(
    "block_pool: blocks that outlive their pool stay usable and the last one frees its chunk") {
    constexpr std::size_t n = 200; // 208-byte blocks
    const chunk_census census;
    auto pool = std::make_unique<block_pool>();
    std::vector<void*> blocks;
    while (pool->chunk_count() < 3) {
        void* p = pool->allocate(n);
        fill(p, n, blocks.size());
        blocks.push_back(p);
    }
    const std::uintptr_t first = chunk_of(blocks.front());
    const std::uintptr_t last = chunk_of(blocks.back());
    // Free every block of the first chunk, and all but two of the second one.
    std::vector<std::pair<void*, std::size_t>> kept;
    std::size_t kept_in_middle = 0;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::uintptr_t c = chunk_of(blocks[i]);
        if (c == first || (c != last && kept_in_middle == 2)) {
            block_pool::deallocate(blocks[i], n);
        } else {
            kept_in_middle += c != last ? 1 : 0;
            kept.emplace_back(blocks[i], i);
        }
    }
    // Reuse a freed block and free it again: the free list, not the carving, decides what is live.
    void* reused = pool->allocate(n);
    CHECK(pool->chunk_count() == 3);
    block_pool::deallocate(reused, n);
    REQUIRE(census.outstanding() == 3);

    pool.reset();
    // The first chunk had no live block: freed. The two others are orphans.
    CHECK(census.outstanding() == 2);
    bool intact = true;
    for (auto [p, i] : kept) {
        intact = intact && holds(p, n, i);
        fill(p, n, i + 1000);
    }
    for (auto [p, i] : kept) {
        intact = intact && holds(p, n, i + 1000);
    }
    CHECK(intact);

    // The middle chunk's two blocks are kept[0] and kept[1]; its last free releases it.
    block_pool::deallocate(kept[0].first, n);
    CHECK(census.outstanding() == 2);
    block_pool::deallocate(kept[1].first, n);
    CHECK(census.outstanding() == 1);
    for (std::size_t i = 2; i < kept.size(); ++i) {
        CHECK(census.outstanding() == 1);
        block_pool::deallocate(kept[i].first, n);
    }
    CHECK(census.outstanding() == 0);
}

// ---- blocks of the library that outlive their loop
// -----------------------------------------------

namespace {

asyncio::task<int> forty_two() {
    co_return 42;
}

asyncio::task<asyncio::task_handle<int>> spawn_and_keep() {
    auto h = asyncio::create_task(forty_two());
    co_await h;
    co_return h;
}

asyncio::task<asyncio::task<int>> make_lazy() {
    co_return forty_two();
}

} // namespace

TEST_CASE("block_pool: a task handle kept after asyncio::run returns still gives its result") {
    const chunk_census census;
    {
        asyncio::task_handle<int> h = asyncio::run(spawn_and_keep());
#if !defined(ASYNCIO_NO_BLOCK_POOL)
        // The task's state lives on in the chunk of the loop that is gone.
        CHECK(census.outstanding() == 1);
#endif
        REQUIRE(h.done());
        CHECK(h.result() == 42);
    }
    CHECK(census.outstanding() == 0);
}

TEST_CASE("block_pool: a lazy task made in one loop runs in another after the first is gone") {
    const chunk_census census;
    asyncio::task<int> t = asyncio::run(make_lazy());
    const int v = asyncio::run(std::move(t));
    CHECK(v == 42);
    CHECK(census.outstanding() == 0);
}

TEST_CASE(
    "block_pool: a frame made on one loop and freed while another runs goes back to its own") {
    const chunk_census census;
    {
        asyncio::event_loop first;
        asyncio::task<int> t = first.run_until_complete(make_lazy());
        const int v = asyncio::run(std::move(t));
        CHECK(v == 42);
        // The frame went back to the first loop's pool, still alive: its chunk is still held.
#if !defined(ASYNCIO_NO_BLOCK_POOL)
        CHECK(census.outstanding() == 1);
        CHECK(first.core().pool.chunk_count() == 1);
#endif
    }
    CHECK(census.outstanding() == 0);
}

#if defined(__linux__)
namespace {

/// Whether the page holding `p` is mapped (mincore fails with ENOMEM on an unmapped page).
bool mapped(const void* p) noexcept {
    const std::uintptr_t page = address(p) & ~std::uintptr_t{4095};
    unsigned char residency = 0;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the page of a block address, for mincore
    return ::mincore(reinterpret_cast<void*>(page), 4096, &residency) == 0;
}

} // namespace

TEST_CASE("block_pool: chunks past the first ones come from regions unmapped once all is freed") {
    constexpr std::size_t n = 1000;
    constexpr std::size_t per_chunk = block_pool::chunk_bytes / block_pool::block_size(n);
    const std::size_t region_chunks = block_pool::region_bytes / block_pool::chunk_bytes;
    const std::size_t chunks = block_pool::standalone_chunks + 2 * region_chunks + 3;
    std::vector<void*> blocks;
    void* kept = nullptr;
    {
        block_pool pool;
        while (pool.chunk_count() < chunks) {
            blocks.push_back(pool.allocate(n));
            fill(blocks.back(), n, blocks.size());
        }
        CHECK(blocks.size() > (per_chunk - 1) * (chunks - 1));
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            REQUIRE(holds(blocks[i], n, i + 1)); // no block overlaps another, in any region
        }
        // The last block lives in the third region; it outlives the pool.
        kept = blocks.back();
        blocks.pop_back();
        for (void* b : blocks) {
            block_pool::deallocate(b, n);
        }
        CHECK(mapped(blocks.front()));
    }
    // The pool is gone: standalone chunks and the first two regions are unmapped or freed, the
    // kept block's region stays until the block goes.
    CHECK_FALSE(mapped(blocks[(per_chunk - 1) * (block_pool::standalone_chunks + 1)]));
    REQUIRE(mapped(kept));
    CHECK(holds(kept, n, blocks.size() + 1));
    fill(kept, n, 7);
    CHECK(holds(kept, n, 7));
    block_pool::deallocate(kept, n);
    CHECK_FALSE(mapped(kept));
}
#endif

// ---- a randomized run against a model
// ------------------------------------------------------------

namespace {

/// What the pool should do, kept alongside it: the live blocks (with the address ranges of their
/// blocks, which must never overlap), and for each live pool the freed blocks of each size class,
/// which the free lists hand out again last-freed first.
class pool_model {
public:
    static constexpr int no_pool = -1;

    struct block {
        std::byte* p;
        std::size_t n;
        std::uint64_t stamp;
        int pool; // the slot of its live pool, or no_pool (global heap, or its pool is gone)
    };

    explicit pool_model(std::uint64_t seed) : rng_(seed) {}

    /// `rng() % n`: the same on every standard library (std::mt19937_64's output is fixed by the
    /// standard, std::uniform_int_distribution's is not).
    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

    /// An object size: the largest and smallest of a size class, the limits of the arena, any.
    std::size_t pick_size() {
        const std::size_t classes = block_pool::max_pooled / block_pool::granule;
        switch (pick(8)) {
        case 0:
            return block_pool::granule * (1 + pick(classes)) - 1;
        case 1:
            return block_pool::granule * (1 + pick(classes));
        case 2:
            return block_pool::max_pooled - 1 - pick(2); // the largest pooled objects
        case 3:
            return 1 + pick(2 * block_pool::max_pooled); // a quarter of these from the heap
        default:
            return 1 + pick(block_pool::max_pooled - 1);
        }
    }

    void allocate(std::vector<std::string>& errors) {
        const std::size_t slot = pick(pools_.size());
        if (!pools_[slot]) {
            pools_[slot] = std::make_unique<block_pool>();
        }
        const std::size_t n = pick_size();
        const std::size_t size = block_pool::block_size(n);
        auto* p = static_cast<std::byte*>(pools_[slot]->allocate(n));
        const bool pooled = size <= block_pool::max_pooled;
        if (pooled) {
            auto& reuse = free_[slot][class_of(n)];
            if (!reuse.empty()) {
                if (reuse.back() != p) {
                    errors.push_back("a freed block of the class was not handed out again");
                }
                reuse.pop_back();
            }
        }
        if (address(p) % alignof(std::max_align_t) != 0) {
            errors.push_back("a block is not aligned for any object");
        }
        // No overlap with a live block: the next one starts at or after this one's end, and the
        // previous one ends at or before its start.
        const auto next = ranges_.lower_bound(address(p));
        if (next != ranges_.end() && next->first < address(p) + size) {
            errors.push_back("a new block overlaps the block after it");
        }
        if (next != ranges_.begin() && std::prev(next)->second > address(p)) {
            errors.push_back("a new block overlaps the block before it");
        }
        ranges_.emplace(address(p), address(p) + size);
#if defined(ASYNCIO_HAS_ASAN)
        if (__asan_region_is_poisoned(p, n + 1) != nullptr) {
            errors.push_back("an allocated object or its tag byte is poisoned");
        }
#endif
        const block b{p, n, rng_(), pooled ? static_cast<int>(slot) : no_pool};
        write_stamps(b);
        live_.push_back(b);
    }

    void free_one(std::vector<std::string>& errors) {
        const std::size_t i = pick(live_.size());
        const block b = live_[i];
        live_[i] = live_.back();
        live_.pop_back();
        if (!has_stamps(b)) {
            errors.push_back("a block's content changed while it was live");
        }
        ranges_.erase(address(b.p));
        block_pool::deallocate(b.p, b.n);
        if (b.pool != no_pool) {
            free_[static_cast<std::size_t>(b.pool)][class_of(b.n)].push_back(b.p);
        }
#if defined(ASYNCIO_HAS_ASAN)
        // From a live pool, an orphaned chunk or the heap: a freed block is poisoned.
        if (__asan_address_is_poisoned(b.p) == 0 ||
            __asan_address_is_poisoned(b.p + b.n - 1) == 0) {
            errors.push_back("a freed block is not poisoned");
        }
#endif
    }

    /// Destroys a pool: its live blocks become blocks of an orphaned chunk.
    void destroy_pool(std::size_t slot) {
        pools_[slot].reset();
        for (auto& list : free_[slot]) {
            list.clear();
        }
        for (block& b : live_) {
            if (b.pool == static_cast<int>(slot)) {
                b.pool = no_pool;
            }
        }
    }

    void check_all(std::vector<std::string>& errors) const {
        for (const block& b : live_) {
            if (!has_stamps(b)) {
                errors.push_back("a live block's content changed");
                return;
            }
        }
    }

    /// Random steps, then everything freed and destroyed in random order.
    void run(std::size_t steps, std::vector<std::string>& errors) {
        for (std::size_t s = 0; s < steps && errors.empty(); ++s) {
            const std::size_t r = pick(100);
            if (r < 52 || live_.empty()) {
                allocate(errors);
            } else if (r < 97) {
                free_one(errors);
            } else if (r < 99) {
                destroy_pool(pick(pools_.size()));
            } else {
                check_all(errors);
            }
        }
        check_all(errors);
        while (!live_.empty() || pools_[0] || pools_[1]) {
            if (live_.empty() || pick(8) == 0) {
                destroy_pool(pick(pools_.size()));
            } else {
                free_one(errors);
            }
        }
    }

private:
    static std::size_t class_of(std::size_t n) noexcept {
        return block_pool::block_size(n) / block_pool::granule - 1;
    }

    /// An 8-byte stamp at every 16-byte boundary of the object (two blocks that overlap share
    /// one, since blocks start on one) and in its last byte.
    static unsigned char stamp_byte(const block& b, std::size_t i) noexcept {
        return static_cast<unsigned char>((b.stamp >> ((i % 8) * 8)) + i / 16);
    }
    static void write_stamps(const block& b) noexcept {
        for (std::size_t at = 0; at < b.n; at += block_pool::granule) {
            for (std::size_t i = at; i < at + 8 && i < b.n; ++i) {
                b.p[i] = std::byte{stamp_byte(b, i)};
            }
        }
        b.p[b.n - 1] = std::byte{stamp_byte(b, b.n - 1)};
    }
    static bool has_stamps(const block& b) noexcept {
        for (std::size_t at = 0; at < b.n; at += block_pool::granule) {
            for (std::size_t i = at; i < at + 8 && i < b.n; ++i) {
                if (b.p[i] != std::byte{stamp_byte(b, i)}) {
                    return false;
                }
            }
        }
        return b.p[b.n - 1] == std::byte{stamp_byte(b, b.n - 1)};
    }

    std::mt19937_64 rng_;
    std::array<std::unique_ptr<block_pool>, 2> pools_;
    std::array<std::array<std::vector<std::byte*>, block_pool::max_pooled / block_pool::granule>, 2>
        free_;
    std::vector<block> live_;
    std::map<std::uintptr_t, std::uintptr_t> ranges_; // live block start -> end
};

} // namespace

TEST_CASE("block_pool: random allocations and frees across size classes and pools match a model") {
    const chunk_census census;
    constexpr std::uint64_t seeds = 3000;
    std::uint64_t failed_seed = 0;
    std::vector<std::string> errors;
    for (std::uint64_t seed = 1; seed <= seeds && errors.empty(); ++seed) {
        pool_model model(seed);
        model.run(300, errors);
        failed_seed = seed;
    }
    INFO("seed " << failed_seed << ": " << (errors.empty() ? std::string("no error") : errors[0]));
    CHECK(errors.empty());
    CHECK(census.outstanding() == 0); // every chunk freed once its pool and blocks are gone
}

// ---- AddressSanitizer: what the arena holds is poisoned ----------------------------------------

#if defined(ASYNCIO_HAS_ASAN)
TEST_CASE(
    "block_pool: under AddressSanitizer a freed block stays poisoned until handed out again") {
    constexpr std::size_t n = 100; // a 112-byte block
    block_pool pool;
    auto* a = static_cast<std::byte*>(pool.allocate(n));
    // The object and its tag byte are addressable; the padding after them and the uncarved rest
    // of the chunk are not.
    CHECK(__asan_region_is_poisoned(a, n + 1) == nullptr);
    CHECK(__asan_address_is_poisoned(a + n + 1) == 1);
    CHECK(__asan_address_is_poisoned(a + block_pool::block_size(n)) == 1);
    fill(a, n, 1);

    block_pool::deallocate(a, n);
    // The whole block, free-list link included: a use after free of a pooled block is reported.
    CHECK(__asan_region_is_poisoned(a, block_pool::block_size(n)) == a);
    bool every_byte = true;
    for (std::size_t i = 0; i < block_pool::block_size(n); ++i) {
        every_byte = every_byte && __asan_address_is_poisoned(a + i) == 1;
    }
    CHECK(every_byte);

    void* again = pool.allocate(n);
    REQUIRE(again == a);
    CHECK(__asan_region_is_poisoned(a, n + 1) == nullptr);
    CHECK(__asan_address_is_poisoned(a + n + 1) == 1);
    block_pool::deallocate(again, n);
    CHECK(__asan_address_is_poisoned(a) == 1);
}

TEST_CASE("block_pool: under AddressSanitizer a block freed after its pool is gone is poisoned") {
    constexpr std::size_t n = 40;
    auto pool = std::make_unique<block_pool>();
    auto* kept = static_cast<std::byte*>(pool->allocate(n));
    auto* other = static_cast<std::byte*>(pool->allocate(n));
    pool.reset();
    CHECK(__asan_region_is_poisoned(kept, n) == nullptr);
    block_pool::deallocate(kept, n); // the chunk still holds `other`
    CHECK(__asan_address_is_poisoned(kept) == 1);
    CHECK(__asan_region_is_poisoned(other, n) == nullptr);
    block_pool::deallocate(other, n); // the last block: the chunk goes back to the heap
    CHECK(__asan_address_is_poisoned(other) == 1);
}

namespace {

/// Publishes the address of a local that lives in its coroutine frame (it spans a suspension).
asyncio::task<> frame_local(const volatile std::byte** where) {
    volatile std::byte local{7};
    *where = &local;
    co_await asyncio::sleep(std::chrono::seconds(0));
    *where = &local;
}

asyncio::task<bool> frame_poisoned_once_freed(std::size_t* chunks) {
    const volatile std::byte* local = nullptr;
    {
        auto h = asyncio::create_task(frame_local(&local));
        co_await h;
    }
    // Let the loop finish with the task, then look at the freed frame.
    co_await asyncio::sleep(std::chrono::seconds(0));
    co_await asyncio::sleep(std::chrono::seconds(0));
    *chunks = asyncio::get_running_loop().core().pool.chunk_count();
    co_return __asan_address_is_poisoned(local) == 1;
}

} // namespace

TEST_CASE("block_pool: under AddressSanitizer the frame of a finished task is poisoned") {
    std::size_t chunks = 0;
    CHECK(asyncio::run(frame_poisoned_once_freed(&chunks)));
#if defined(ASYNCIO_NO_BLOCK_POOL)
    CHECK(chunks == 0); // frames from the global heap, whose freed memory ASan poisons
#else
    CHECK(chunks >= 1); // ASYNCIO_POOL_UNDER_ASAN: frames from the loop's arena, which poisons
#endif
}
#endif
