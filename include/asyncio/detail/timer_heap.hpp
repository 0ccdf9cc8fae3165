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

/// The intrusive part of a timer. `run` is what the ready queue calls once the timer expired.
struct timer_entry {
    std::int64_t when = 0;
    std::uint64_t seq = 0;
    std::size_t heap_index = 0;
    std::uint64_t ready_pos = 0;
    timer_state state = timer_state::idle;
    void (*run)(void* self, bool run) = nullptr;
};

/// Min-heap of timers. Equal deadlines come out in registration order (the sequence number), a
/// deliberate improvement on CPython, where equal deadlines fire in an undefined order. A
/// cancelled timer is removed at once (indexed removal), so cancelled timers never pile up.
class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] std::int64_t top_when() const noexcept { return slots_.front().when; }

    void push(timer_entry& e, std::int64_t when) {
        e.when = when;
        e.seq = next_seq_++;
        e.state = timer_state::in_heap;
        slots_.push_back(slot{when, e.seq, &e});
        e.heap_index = slots_.size() - 1;
        sift_up(slots_.size() - 1);
    }

    /// Removes and returns the earliest timer.
    timer_entry& pop() noexcept {
        timer_entry& e = *slots_.front().entry;
        remove_at(0);
        return e;
    }

    /// Removes `e`, which must be in this heap.
    void remove(timer_entry& e) noexcept {
        ASYNCIO_ASSERT(e.state == timer_state::in_heap);
        ASYNCIO_ASSERT(slots_[e.heap_index].entry == &e);
        remove_at(e.heap_index);
    }

private:
    struct slot {
        std::int64_t when;
        std::uint64_t seq;
        timer_entry* entry;
    };
    static constexpr std::size_t arity = 4;

    static bool less(const slot& a, const slot& b) noexcept {
        return a.when < b.when || (a.when == b.when && a.seq < b.seq);
    }

    void place(std::size_t i, const slot& s) noexcept {
        slots_[i] = s;
        s.entry->heap_index = i;
    }

    void remove_at(std::size_t i) noexcept {
        slots_[i].entry->state = timer_state::idle;
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
                if (less(slots_[c], slots_[best])) {
                    best = c;
                }
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
    std::uint64_t next_seq_ = 0;
};

} // namespace asyncio::detail
