// SPDX-License-Identifier: MIT
// A per-loop arena of small memory blocks by size class, for coroutine frames and task states.
#pragma once

#include <asyncio/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(ASYNCIO_HAS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace asyncio::detail {

/// Memory for coroutine frames and task states. A spawned task costs two blocks (frame and state)
/// and a program may hold a million of them at once, so a loop's pool carves blocks of up to
/// `max_pooled` bytes out of large chunks with a bump pointer and keeps freed blocks in free lists
/// by 16-byte size class; the chunks go back to the global heap whole.
///
/// A block of an `n`-byte object is `block_size(n)` bytes: byte `n`, just past the object, is a
/// tag saying where the block came from, so `deallocate` (given the same `n`) needs no header:
/// a global-heap block goes back to `::operator delete`; an arena block goes back to the free list
/// of the pool that owns its chunk (the chunk is the block's address rounded down to
/// `chunk_bytes`), whichever loop runs at the time. Blocks may outlive their pool (a finished
/// task's state kept by a handle, a lazy task<T> returned out of asyncio::run): a pool destroyed
/// with live blocks frees its idle chunks and orphans the others, each of which the last
/// deallocation of its blocks frees.
///
/// Single-threaded: a block is freed on its pool's thread, or once that pool is gone, on one
/// thread at a time per orphaned chunk (the loop's rules for frames). The library bypasses the
/// pool under ASYNCIO_NO_BLOCK_POOL, which AddressSanitizer builds define unless
/// ASYNCIO_POOL_UNDER_ASAN is defined (config.hpp); the class itself works either way, and under
/// AddressSanitizer poisons the memory it does not hand out.
class block_pool {
public:
    static constexpr std::size_t granule = 16;
    /// The largest block the arena serves; bigger ones come from the global heap.
    static constexpr std::size_t max_pooled = 1024;
    /// Size and alignment of a chunk. A request that does not fit the rest of the current chunk
    /// starts a new one and the rest is left unused: under `max_pooled` bytes (3%) per chunk.
    /// Small enough that glibc serves a pool's first chunks from its heap, whose pages stay warm
    /// from one loop to the next (64 KiB chunks were mapped afresh: a loop running 1,000 tasks
    /// took 0.24 ms instead of 0.125 ms, most of it in page faults).
    static constexpr std::size_t chunk_bytes = std::size_t{32} * 1024;
    /// Once a pool holds `standalone_chunks` chunks, further chunks are cut from regions of
    /// `region_bytes` aligned to their size, so that the kernel can back them with transparent
    /// huge pages: system-wide when THP is `always`, or when ASYNCIO_HUGE_PAGES is defined (the
    /// pool then asks for them with madvise). A million tasks touch some 300 MB; with 4 KiB pages
    /// the page faults took a third of the run. Not the default: on the 2-core virtual machines
    /// we measure on, fresh huge pages were sometimes slow to zero (the host backs them lazily),
    /// which made whole runs 2-4x slower at random.
    static constexpr std::size_t standalone_chunks = 16;
    static constexpr std::size_t region_bytes = std::size_t{2} * 1024 * 1024;

    /// The size of the block that holds an `n`-byte object and its tag byte.
    [[nodiscard]] static constexpr std::size_t block_size(std::size_t n) noexcept {
        return (n + 1 + granule - 1) & ~(granule - 1);
    }

    block_pool() noexcept = default;
    block_pool(const block_pool&) = delete;
    block_pool& operator=(const block_pool&) = delete;

    /// Frees every chunk none of whose blocks is alive; orphans the others.
    ~block_pool() {
        if (region_next_ != nullptr) {
            // The chunks of the current region never carved count as freed.
            chunk_header* first = region_first_;
            first->region_left -=
                static_cast<std::size_t>(region_end_ - region_next_) / chunk_bytes;
            if (first->region_left == 0) {
                free_region(first);
            }
        }
        if (outstanding_ == 0) {
            // The usual case: nothing outlives the loop, every chunk goes.
            for (chunk_header* c = chunks_; c != nullptr; c = c->next) {
                c->live = 0;
            }
        } else {
            // Some blocks outlive the pool: a chunk's live blocks are those carved from it minus
            // those on the free lists.
            for (free_block* head : heads_) {
                for (free_block* b = head; b != nullptr;) {
                    unpoison(b, sizeof(free_block));
                    free_block* next = b->next;
                    poison(b, sizeof(free_block));
                    --chunk_of(b)->live;
                    b = next;
                }
            }
        }
        for (chunk_header* c = chunks_; c != nullptr;) {
            chunk_header* next = c->next;
            if (c->live == 0) {
                free_chunk(c);
            } else {
                c->owner = nullptr;
                c->next = nullptr;
            }
            c = next;
        }
    }

    /// Memory for an `n`-byte object: from the arena, or the global heap above `max_pooled`.
    /// Throws std::bad_alloc.
    [[nodiscard]] void* allocate(std::size_t n) {
        const std::size_t size = block_size(n);
        if (size > max_pooled) {
            return allocate_global(n);
        }
        auto* p = static_cast<std::byte*>(pop(size));
        if (p == nullptr) {
            p = carve(size);
        }
        ++outstanding_;
        unpoison(p, n + 1);
        p[n] = arena_tag;
        return p;
    }

    /// Memory for an `n`-byte object from the global heap, tagged so that `deallocate` returns it
    /// there. Throws std::bad_alloc.
    [[nodiscard]] static void* allocate_global(std::size_t n) {
        auto* p = static_cast<std::byte*>(::operator new(block_size(n)));
        p[n] = global_tag;
        return p;
    }

    /// Returns a block from `allocate` or `allocate_global` of any pool, given the same `n`.
    static void deallocate(void* p, std::size_t n) noexcept {
        const std::size_t size = block_size(n);
        if (static_cast<const std::byte*>(p)[n] == arena_tag) {
            chunk_header* c = chunk_of(p);
            if (c->owner != nullptr) {
                c->owner->push(p, size);
                return;
            }
        }
        release_elsewhere(p, n);
    }

    /// The blocks handed out by `allocate` from the arena and not yet returned (tests use it to
    /// prove that an awaiter allocates no coroutine frame).
    [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

    /// The chunks this pool owns (they stay allocated until the pool is destroyed).
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunk_count_; }

private:
    static constexpr std::byte global_tag{0};
    static constexpr std::byte arena_tag{1};

    struct free_block {
        free_block* next;
    };

    /// The start of every chunk. While its pool lives, `live` counts the blocks carved from it;
    /// once orphaned, the blocks still handed out. The pool itself counts what it has handed out
    /// (`outstanding_`), so that a dying pool with nothing outstanding, the usual case, frees its
    /// chunks without walking its free lists (two million pointers chased through all of memory
    /// after a million tasks), and allocation from a free list never touches a chunk header.
    struct chunk_header {
        block_pool* owner; // null once the pool is gone (an orphan)
        chunk_header* next;
        std::size_t live;
        /// The first chunk of the region this chunk was cut from, or null for a chunk of its own.
        chunk_header* region;
        /// In a region's first chunk only: the region's chunks not yet freed.
        std::size_t region_left;
    };
    static constexpr std::size_t header_bytes =
        (sizeof(chunk_header) + granule - 1) & ~(granule - 1);
    static_assert((chunk_bytes & (chunk_bytes - 1)) == 0, "chunks are aligned to their size");
    static_assert(header_bytes + max_pooled <= chunk_bytes, "a chunk holds the largest block");
    static_assert(sizeof(free_block) <= granule && granule % alignof(std::max_align_t) == 0);

    /// The cold paths of `deallocate`, kept out of its inlined part: a global-heap block, or a
    /// block of an orphaned chunk.
    static void release_elsewhere(void* p, std::size_t n) noexcept {
        const std::size_t size = block_size(n);
        const std::byte tag = static_cast<const std::byte*>(p)[n];
        // Another value means `n` is not the size the block was allocated for.
        ASYNCIO_ASSERT(tag == arena_tag || tag == global_tag);
        if (tag == global_tag) {
#if defined(__cpp_sized_deallocation)
            ::operator delete(p, size);
#else
            ::operator delete(p);
#endif
            return;
        }
        // An orphaned chunk: its blocks are never reused, and the last one frees it.
        chunk_header* c = chunk_of(p);
        poison(p, size);
        if (--c->live == 0) {
            free_chunk(c);
        }
    }

    [[nodiscard]] static chunk_header* chunk_of(void* p) noexcept {
        const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) & (chunk_bytes - 1);
        return std::launder(reinterpret_cast<chunk_header*>(static_cast<std::byte*>(p) - offset));
    }

    [[nodiscard]] void* pop(std::size_t size) noexcept {
        free_block*& head = heads_[size / granule - 1];
        free_block* b = head;
        if (b != nullptr) {
            unpoison(b, sizeof(free_block));
            head = b->next;
            poison(b, size);
        }
        return b;
    }

    void push(void* p, std::size_t size) noexcept {
        free_block*& head = heads_[size / granule - 1];
        unpoison(p, sizeof(free_block));
        head = ::new (p) free_block{head};
        poison(p, size);
        --outstanding_;
    }

    [[nodiscard]] std::byte* carve(std::size_t size) {
        if (static_cast<std::size_t>(end_ - bump_) < size) {
            chunk_header* region = nullptr;
            std::size_t region_left = 0;
            std::byte* raw = nullptr;
            if (chunk_count_ < standalone_chunks) {
                raw = static_cast<std::byte*>(
                    ::operator new(chunk_bytes, std::align_val_t{chunk_bytes}));
            } else {
                if (region_next_ == region_end_) {
                    region_next_ = allocate_region();
                    region_end_ = region_next_ + region_bytes;
                    region_left = region_bytes / chunk_bytes; // this chunk is the region's first
                }
                raw = region_next_;
                region_next_ += chunk_bytes;
                region = region_left != 0 ? reinterpret_cast<chunk_header*>(raw) : region_first_;
            }
            chunks_ = ::new (raw) chunk_header{this, chunks_, 0, region, region_left};
            if (region_left != 0) {
                region_first_ = chunks_;
                region_first_->region = region_first_;
            }
            ++chunk_count_;
            bump_ = raw + header_bytes;
            end_ = raw + chunk_bytes;
            poison(bump_, chunk_bytes - header_bytes);
        }
        std::byte* p = bump_;
        bump_ += size;
        ++chunks_->live;
        return p;
    }

    static void free_chunk(chunk_header* c) noexcept {
        if (chunk_header* first = c->region) {
            // A region goes back whole, once every chunk cut from it is free.
            if (--first->region_left == 0) {
                free_region(first);
            }
            return;
        }
        unpoison(c, chunk_bytes);
#if defined(__cpp_sized_deallocation)
        ::operator delete(c, chunk_bytes, std::align_val_t{chunk_bytes});
#else
        ::operator delete(c, std::align_val_t{chunk_bytes});
#endif
    }

    /// `region_bytes` aligned to their size; on Linux mapped directly (and with ASYNCIO_HUGE_PAGES
    /// advised to use huge pages: a hint, ordinary memory where THP is off).
    [[nodiscard]] static std::byte* allocate_region() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        void* m = ::mmap(nullptr, 2 * region_bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            throw std::bad_alloc();
        }
        // Keep the aligned middle: unmap the head and the tail around it.
        auto* const start = static_cast<std::byte*>(m);
        const std::uintptr_t misalign =
            reinterpret_cast<std::uintptr_t>(start) & (region_bytes - 1);
        const std::size_t head = misalign == 0 ? 0 : region_bytes - misalign;
        if (head != 0) {
            ::munmap(start, head);
        }
        ::munmap(start + head + region_bytes, region_bytes - head);
        std::byte* const region = start + head;
#if defined(ASYNCIO_HUGE_PAGES)
        ::madvise(region, region_bytes, MADV_HUGEPAGE);
#endif
        return region;
#else
        return static_cast<std::byte*>(
            ::operator new(region_bytes, std::align_val_t{region_bytes}));
#endif
    }

    static void free_region(chunk_header* first) noexcept {
        unpoison(first, region_bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        ::munmap(first, region_bytes);
#elif defined(__cpp_sized_deallocation)
        ::operator delete(first, region_bytes, std::align_val_t{region_bytes});
#else
        ::operator delete(first, std::align_val_t{region_bytes});
#endif
    }

    // Under AddressSanitizer, memory the pool holds but has not handed out is poisoned, so that a
    // use of a freed block (until its reuse) or of the uncarved rest of a chunk is reported.
    static void poison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(ASYNCIO_HAS_ASAN)
        ASAN_POISON_MEMORY_REGION(p, n);
#endif
    }
    static void unpoison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(ASYNCIO_HAS_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
    }

    std::array<free_block*, max_pooled / granule> heads_{};
    /// Every chunk this pool owns, the one being carved first.
    chunk_header* chunks_ = nullptr;
    std::byte* bump_ = nullptr;
    std::byte* end_ = nullptr;
    std::size_t chunk_count_ = 0;
    /// Blocks handed out and not yet returned.
    std::size_t outstanding_ = 0;
    /// The region chunks are being cut from: its first chunk, the next chunk, its end.
    chunk_header* region_first_ = nullptr;
    std::byte* region_next_ = nullptr;
    std::byte* region_end_ = nullptr;
};

} // namespace asyncio::detail
