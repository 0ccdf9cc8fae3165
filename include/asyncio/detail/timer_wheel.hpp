// SPDX-License-Identifier: MIT
// The loop's timers: a two-level timer wheel (65.5 µs and 67 ms buckets, 68 s ahead) whose
// buckets are sorted only when they come due, with 4-ary heaps for the rest; exact deadlines.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/timer_heap.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace asyncio::detail {

/// The loop's timer structure: what timer_heap offers (push, pop of the earliest, removal of any
/// timer, the earliest deadline) in the same order: by deadline at full nanosecond resolution,
/// equal deadlines in push order (one sequence number across all its parts). Cancelled timers
/// leave at once: size() counts only pending ones.
///
/// Deadlines fall into fine slots of 2^16 ns and coarse slots of 1,024 fine ones (67 ms). The
/// cursor is the first fine slot not opened yet. A timer whose fine slot is one of the 1,024 from
/// the cursor on is appended to that slot's fine bucket, a plain vector: no ordering work at
/// push. Later ones, up to 1,023 coarse slots ahead, go to coarse buckets, each emptied into fine
/// buckets when it holds the earliest timers (the cursor moves to its start); later still, to the
/// `far` heap. A fine bucket is opened when it holds the earliest timer: its items are sorted
/// once, by (deadline, sequence), into the run, which is consumed from its end. Timers for fine
/// slots already opened (a short delay after the cursor moved) go to the `late` heap. The earliest
/// timer is the least of the run's end and the two heaps' tops. Removal from a bucket or the run
/// leaves a hole (the item's entry cleared) found through the index the entry keeps; holes are
/// skipped, and a bucket with more holes than timers is compacted. Bucket vectors keep their
/// capacity (they swap with the run), so a loop that once held many timers keeps that memory.
class timer_wheel {
public:
    /// log2 of a fine slot's width in nanoseconds.
    static constexpr int slot_shift = 16;
    /// log2 of the number of buckets per level (and of fine slots per coarse slot).
    static constexpr int level_bits = 10;
    /// Buckets per level.
    static constexpr std::size_t slot_count = std::size_t{1} << level_bits;

    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] std::size_t size() const noexcept {
        return fine_.live + coarse_.live + run_live_ + late_.size() + far_.size();
    }

    /// The earliest deadline; not empty(). May move timers between buckets (hence not const);
    /// throws std::bad_alloc if a bucket cannot grow.
    [[nodiscard]] std::int64_t top_when() {
        switch (earliest()) {
        case timer_place::run:
            return run_.back().when;
        case timer_place::late:
            return late_.top_when();
        default:
            return far_.top_when();
        }
    }

    /// Adds `e` (idle) with deadline `when`.
    void push(timer_entry& e, std::int64_t when) {
        const std::int64_t s = slot_of(when);
        if (s < cursor_) {
            late_.push(e, when, next_seq_);
            e.place = timer_place::late;
        } else if (static_cast<std::uint64_t>(s - cursor_) < slot_count) {
            e.seq = next_seq_;
            fine_.add(static_cast<std::size_t>(s) & mask, item{when, &e});
            e.place = timer_place::bucket;
        } else if (static_cast<std::uint64_t>((s >> level_bits) - (cursor_ >> level_bits)) <
                   slot_count) {
            e.seq = next_seq_;
            coarse_.add(static_cast<std::size_t>(s >> level_bits) & mask, item{when, &e});
            e.place = timer_place::coarse;
        } else {
            far_.push(e, when, next_seq_);
            e.place = timer_place::far;
        }
        ++next_seq_;
    }

    /// Removes and returns the earliest timer; not empty(). Throws as top_when() does.
    timer_entry& pop() { return take(earliest()); }

    /// Removes and returns the earliest timer if its deadline is at most `end`, else null.
    timer_entry* pop_if_due(std::int64_t end) {
        if (empty()) {
            return nullptr;
        }
        const timer_place p = earliest();
        const std::int64_t when = p == timer_place::run    ? run_.back().when
                                  : p == timer_place::late ? late_.top_when()
                                                           : far_.top_when();
        return when <= end ? &take(p) : nullptr;
    }

    /// Removes and returns any timer, in no particular order (the loop's teardown); not empty().
    timer_entry& pop_any() noexcept {
        if (run_live_ != 0 || !late_.empty() || (fine_.live == 0 && coarse_.live == 0)) {
            return pop_from_heaps_or_run();
        }
        level& l = fine_.live != 0 ? fine_ : coarse_;
        for (bucket& b : l.buckets) {
            while (!b.items.empty()) {
                timer_entry* e = b.items.back().entry;
                if (e != nullptr) {
                    remove(*e);
                    return *e;
                }
                b.items.pop_back();
            }
        }
        ASYNCIO_ASSERT(false);
        return pop_from_heaps_or_run();
    }

    /// Removes `e`, which must be pending here.
    void remove(timer_entry& e) noexcept {
        ASYNCIO_ASSERT(e.state == timer_state::in_heap);
        switch (e.place) {
        case timer_place::late:
            late_.remove(e);
            return;
        case timer_place::far:
            far_.remove(e);
            return;
        case timer_place::run:
            ASYNCIO_ASSERT(run_[e.ticket].entry == &e);
            run_[e.ticket].entry = nullptr;
            if (--run_live_ == 0) {
                run_.clear();
            }
            break;
        case timer_place::bucket:
            fine_.remove(static_cast<std::size_t>(slot_of(e.when)) & mask, e);
            break;
        case timer_place::coarse:
            coarse_.remove(static_cast<std::size_t>(slot_of(e.when) >> level_bits) & mask, e);
            break;
        }
        e.state = timer_state::idle;
    }

    /// The loop's clock reads `now` (called after the due timers were popped, but safe at any
    /// time): when no fine bucket, run or late timer remains, the cursor moves up towards now's
    /// slot (not past a pending coarse slot), so that short delays go to fine buckets again.
    void advance(std::int64_t now) {
        if (fine_.live != 0 || run_live_ != 0 || !late_.empty()) {
            return;
        }
        run_.clear();
        std::int64_t target = slot_of(now);
        if (coarse_.live != 0) {
            target = std::min(target, (next_coarse_slot() << level_bits) - 1);
        }
        cursor_ = std::max(cursor_, target);
    }

private:
    // 16 bytes: the sequence number is in the entry, read only to break a tie.
    struct item {
        std::int64_t when;
        timer_entry* entry; // null once removed
    };
    struct bucket {
        std::vector<item> items;
        std::size_t live = 0;
    };
    static constexpr std::size_t mask = slot_count - 1;
    static constexpr std::size_t words = slot_count / 64;

    /// One level of buckets, with a bit per non-empty bucket.
    struct level {
        std::vector<bucket> buckets; // slot_count of them, from the first add on
        std::array<std::uint64_t, words> occupied{};
        std::size_t live = 0;

        void add(std::size_t b, const item& i) {
            if (buckets.empty()) {
                buckets.resize(slot_count);
            }
            std::vector<item>& items = buckets[b].items;
            items.push_back(i); // first: if it throws, the entry keeps its index elsewhere
            i.entry->ticket = static_cast<std::uint32_t>(items.size() - 1);
            i.entry->when = i.when;
            i.entry->state = timer_state::in_heap;
            ++buckets[b].live;
            ++live;
            occupied[b / 64] |= std::uint64_t{1} << (b % 64);
        }

        void remove(std::size_t b, timer_entry& e) noexcept {
            bucket& bk = buckets[b];
            ASYNCIO_ASSERT(bk.items[e.ticket].entry == &e);
            bk.items[e.ticket].entry = nullptr;
            --live;
            if (--bk.live == 0) {
                empty_bucket(b);
            } else if (bk.items.size() >= 2 * bk.live + 32) {
                // More holes than timers: compact, keeping the push order.
                std::erase_if(bk.items, [](const item& i) { return i.entry == nullptr; });
                for (std::size_t i = 0; i < bk.items.size(); ++i) {
                    bk.items[i].entry->ticket = static_cast<std::uint32_t>(i);
                }
            }
        }

        void empty_bucket(std::size_t b) noexcept {
            buckets[b].items.clear();
            buckets[b].live = 0;
            occupied[b / 64] &= ~(std::uint64_t{1} << (b % 64));
        }

        // The first non-empty bucket at or cyclically after `start`, as a distance from it; live.
        [[nodiscard]] std::size_t distance_from(std::size_t start) const noexcept {
            std::size_t w = start / 64;
            std::uint64_t bits = occupied[w] & (~std::uint64_t{0} << (start % 64));
            for (std::size_t k = 0; k <= words; ++k) {
                if (bits != 0) {
                    const std::size_t b = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
                    return (b - start) & mask;
                }
                w = (w + 1) % words;
                bits = occupied[w];
            }
            ASYNCIO_ASSERT(false);
            return 0;
        }
    };

    [[nodiscard]] static std::int64_t slot_of(std::int64_t when) noexcept {
        return when >> slot_shift; // arithmetic: floor, also for negative deadlines
    }

    [[nodiscard]] std::int64_t next_fine_slot() const noexcept {
        return cursor_ + static_cast<std::int64_t>(
                             fine_.distance_from(static_cast<std::size_t>(cursor_) & mask));
    }
    // Coarse buckets hold coarse slots from the cursor's own (emptied into fine buckets only when
    // it holds the earliest timers) to 1,023 after it.
    [[nodiscard]] std::int64_t next_coarse_slot() const noexcept {
        const std::int64_t first = cursor_ >> level_bits;
        return first + static_cast<std::int64_t>(
                           coarse_.distance_from(static_cast<std::size_t>(first) & mask));
    }

    // Where the earliest timer is; not empty(). When neither the run nor the late heap holds a
    // timer (everything in them precedes every bucket), opens the next fine bucket, first moving
    // the cursor to a coarse slot that comes before it and emptying that into fine buckets.
    timer_place earliest() {
        while (!run_.empty() && run_.back().entry == nullptr) {
            run_.pop_back();
        }
        if (run_.empty() && late_.empty() && (fine_.live != 0 || coarse_.live != 0)) {
            const std::int64_t far_slot =
                far_.empty() ? std::numeric_limits<std::int64_t>::max() : slot_of(far_.top_when());
            if (coarse_.live != 0) {
                const std::int64_t c = next_coarse_slot() << level_bits;
                if ((fine_.live == 0 || c <= next_fine_slot()) && c <= far_slot) {
                    cursor_ = std::max(cursor_, c);
                    cascade_due();
                }
            }
            if (fine_.live != 0) {
                const std::int64_t b = next_fine_slot();
                if (b <= far_slot) {
                    open(b);
                }
            }
        }
        timer_place best = timer_place::far;
        std::int64_t when = 0;
        if (!run_.empty()) {
            best = timer_place::run;
            when = run_.back().when;
        }
        if (!late_.empty() && (best == timer_place::far || before(late_, best, when))) {
            best = timer_place::late;
            when = late_.top_when();
        }
        if (best != timer_place::far && !far_.empty() && before(far_, best, when)) {
            best = timer_place::far;
        }
        return best;
    }

    // Whether the top of `h` (not empty) comes before the run's end or the late heap's top
    // (`best`), whose deadline is `when`.
    [[nodiscard]] bool before(const timer_heap& h, timer_place best,
                              std::int64_t when) const noexcept {
        const std::int64_t w = h.top_when();
        if (w != when) [[likely]] {
            return w < when;
        }
        return h.top_seq() < (best == timer_place::run ? run_.back().entry->seq : late_.top_seq());
    }

    // The cursor moved to the coarse slot of a pending coarse bucket: its timers go to fine
    // buckets (their fine slots are within the cursor's 1,024). Each item moves out of the coarse
    // bucket only once it is in a fine one, so a failed allocation loses nothing.
    void cascade_due() {
        const std::int64_t c = cursor_ >> level_bits;
        const std::size_t cb = static_cast<std::size_t>(c) & mask;
        if (coarse_.live == 0 || (coarse_.occupied[cb / 64] >> (cb % 64) & 1U) == 0) {
            return;
        }
        bucket& from = coarse_.buckets[cb];
        for (std::size_t i = 0; i < from.items.size(); ++i) {
            const item it = from.items[i];
            if (it.entry == nullptr) {
                continue;
            }
            ASYNCIO_ASSERT((slot_of(it.when) >> level_bits) == c);
            if (slot_of(it.when) >= cursor_) [[likely]] {
                fine_.add(static_cast<std::size_t>(slot_of(it.when)) & mask, it);
                it.entry->place = timer_place::bucket;
            } else { // left by an emptying that failed to allocate, and the cursor moved on
                late_.push(*it.entry, it.when, it.entry->seq);
                it.entry->place = timer_place::late;
            }
            from.items[i].entry = nullptr;
            --from.live;
            --coarse_.live;
        }
        coarse_.empty_bucket(cb);
    }

    // Makes fine slot `s`'s bucket the run (the run is empty): its timers sorted latest first,
    // each told its index; the cursor moves past `s`. The vectors swap: nothing is allocated.
    void open(std::int64_t s) {
        const std::size_t b = static_cast<std::size_t>(s) & mask;
        bucket& bk = fine_.buckets[b];
        run_.clear();
        run_.swap(bk.items);
        run_live_ = bk.live;
        fine_.live -= bk.live;
        fine_.empty_bucket(b);
        if (run_.size() != run_live_) {
            std::erase_if(run_, [](const item& i) { return i.entry == nullptr; });
        }
        std::ranges::sort(run_, [](const item& a, const item& c) {
            return a.when != c.when ? a.when > c.when : a.entry->seq > c.entry->seq;
        });
        for (std::size_t i = 0; i < run_.size(); ++i) {
            run_[i].entry->ticket = static_cast<std::uint32_t>(i);
            run_[i].entry->place = timer_place::run;
        }
        cursor_ = s + 1;
    }

    // Removes the earliest timer, found by earliest() at `p`.
    timer_entry& take(timer_place p) noexcept {
        if (p == timer_place::late) {
            return late_.pop();
        }
        if (p != timer_place::run) {
            return far_.pop();
        }
        timer_entry& e = *run_.back().entry;
        run_.pop_back();
        if (--run_live_ == 0) {
            run_.clear();
        }
        e.state = timer_state::idle;
        return e;
    }

    timer_entry& pop_from_heaps_or_run() noexcept {
        if (run_live_ != 0) {
            while (run_.back().entry == nullptr) {
                run_.pop_back();
            }
            timer_entry& e = *run_.back().entry;
            remove(e);
            return e;
        }
        return !late_.empty() ? late_.pop() : far_.pop();
    }

    level fine_;
    level coarse_;
    std::vector<item> run_; // the opened fine bucket, latest first
    timer_heap late_;       // fine slots before the cursor
    timer_heap far_;        // beyond the coarse level when pushed
    std::int64_t cursor_ = 0;
    std::size_t run_live_ = 0;
    std::uint64_t next_seq_ = 0;
};

} // namespace asyncio::detail
