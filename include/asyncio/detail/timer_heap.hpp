// SPDX-License-Identifier: MIT
// The loop's timer heap: a 4-ary min-heap ordered by (deadline, sequence) with indexed removal.
#pragma once

#include <asyncio/config.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace asyncio::detail {

/// Where a timer is; `timer_entry` is embedded in callback nodes and in sleep awaiters.
enum class timer_state : unsigned char { idle, in_heap, in_ready, fired };

/// Which part of the loop's timer_wheel holds a pending timer (timer_wheel.hpp).
enum class timer_place : unsigned char { late, bucket, coarse, run, far };

/// The intrusive part of a timer. `run` is what the ready queue calls once the timer expired.
struct timer_entry {
    std::int64_t when = 0;
    union {
        /// While in the ready queue: its position there.
        std::uint64_t ready_pos = 0;
        /// While in a timer_wheel bucket or run: its push order (the heaps keep theirs apart).
        std::uint64_t seq;
    };
    /// While in a heap: the ticket through which the heap finds it for removal; in a wheel bucket
    /// or the wheel's sorted run: its index there.
    std::uint32_t ticket = 0;
    timer_state state = timer_state::idle;
    timer_place place = timer_place::late;
    void (*run)(void* self, bool run) = nullptr;
};

/// Min-heap of timers. Equal deadlines come out in registration order (the sequence number), a
/// deliberate improvement on CPython, where equal deadlines fire in an undefined order. A
/// cancelled timer is removed at once (indexed removal), so cancelled timers never pile up.
///
/// Laid out for the cache: a heap slot is 16 bytes (the deadline and a ticket), so four siblings
/// share a cache line or two; the entry and its sequence number sit in a table by ticket, read
/// once per pop and on equal deadlines; a second table maps tickets to heap positions. The heap
/// never writes into the entries while it reorders: they live in coroutine frames scattered over
/// memory, where updating a position per level moved cost a cache miss each.
class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] std::int64_t top_when() const noexcept { return slots_.front().when; }

    /// The sequence number of the earliest timer (what breaks a tie with it).
    [[nodiscard]] std::uint64_t top_seq() const noexcept {
        return info_[slots_.front().ticket].seq;
    }

    /// Adds `e` with the next sequence number of this heap.
    void push(timer_entry& e, std::int64_t when) { push(e, when, next_seq_++); }

    /// Adds `e` with sequence number `seq` (the caller numbers timers across several heaps).
    void push(timer_entry& e, std::int64_t when, std::uint64_t seq) {
        const std::uint32_t t = take_ticket();
        try {
            slots_.push_back(slot{when, t});
        } catch (...) {
            free_tickets_.push_back(t); // cannot throw: capacity was reserved by take_ticket
            throw;
        }
        info_[t] = ticket_info{&e, seq};
        e.when = when;
        e.ticket = t;
        e.state = timer_state::in_heap;
        sift_up(slots_.size() - 1);
    }

    /// Removes and returns the earliest timer.
    timer_entry& pop() noexcept {
        timer_entry& e = *info_[slots_.front().ticket].entry;
        remove_at(0);
        return e;
    }

    /// Removes `e`, which must be in this heap.
    void remove(timer_entry& e) noexcept {
        ASYNCIO_ASSERT(e.state == timer_state::in_heap);
        ASYNCIO_ASSERT(info_[e.ticket].entry == &e);
        remove_at(positions_[e.ticket]);
    }

private:
    struct slot {
        std::int64_t when;
        std::uint32_t ticket;
    };
    struct ticket_info {
        timer_entry* entry;
        std::uint64_t seq;
    };
    static constexpr std::size_t arity = 4;

    // Deadlines come in any order, so `a.when < b.when` is unpredictable: it is computed, not
    // branched on; only the rare tie branches (to the sequence numbers).
    [[nodiscard]] bool less(const slot& a, const slot& b) const noexcept {
        if (a.when != b.when) [[likely]] {
            return a.when < b.when;
        }
        return info_[a.ticket].seq < info_[b.ticket].seq;
    }

    std::uint32_t take_ticket() {
        if (free_tickets_.empty()) {
            const auto t = static_cast<std::uint32_t>(positions_.size());
            positions_.push_back(0);
            info_.emplace_back();
            // Every ticket can come back: room for all of them, so freeing never allocates (and
            // grown geometrically, with the table).
            if (free_tickets_.capacity() < positions_.size()) {
                free_tickets_.reserve(positions_.capacity());
            }
            return t;
        }
        const std::uint32_t t = free_tickets_.back();
        free_tickets_.pop_back();
        return t;
    }

    void place(std::size_t i, const slot& s) noexcept {
        slots_[i] = s;
        positions_[s.ticket] = static_cast<std::uint32_t>(i);
    }

    void remove_at(std::size_t i) noexcept {
        const std::uint32_t t = slots_[i].ticket;
        info_[t].entry->state = timer_state::idle;
        free_tickets_.push_back(t);
        const slot last = slots_.back();
        slots_.pop_back();
        if (i == slots_.size()) {
            return;
        }
        place(i, last);
        if (i > 0 && less(last, slots_[(i - 1) / arity])) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }

    void sift_up(std::size_t i) noexcept {
        const slot s = slots_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / arity;
            if (!less(s, slots_[parent])) {
                break;
            }
            place(i, slots_[parent]);
            i = parent;
        }
        place(i, s);
    }

    void sift_down(std::size_t i) noexcept {
        const slot s = slots_[i];
        const std::size_t n = slots_.size();
        for (;;) {
            const std::size_t first = i * arity + 1;
            if (first >= n) {
                break;
            }
            std::size_t best = first;
            const std::size_t end = first + arity < n ? first + arity : n;
            for (std::size_t c = first + 1; c < end; ++c) {
                best = less(slots_[c], slots_[best]) ? c : best;
            }
            if (!less(slots_[best], s)) {
                break;
            }
            place(i, slots_[best]);
            i = best;
        }
        place(i, s);
    }

    std::vector<slot> slots_;
    std::vector<std::uint32_t> positions_; // ticket -> index in slots_
    std::vector<ticket_info> info_;        // ticket -> entry and sequence number
    std::vector<std::uint32_t> free_tickets_;
    std::uint64_t next_seq_ = 0;
};

} // namespace asyncio::detail
