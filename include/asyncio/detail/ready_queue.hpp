// SPDX-License-Identifier: MIT
// The loop's FIFO ready queue: a growable ring buffer of (function, argument) entries.
#pragma once

#include <asyncio/config.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace asyncio::detail {

/// One scheduled callback. `run` is false when the loop discards the entry unrun (loop
/// destruction), so entries that own something can release it.
struct ready_entry {
    void (*fn)(void* arg, bool run);
    void* arg;
};

/// FIFO ring buffer. Positions are absolute (they only grow), so an entry can be neutralised in
/// place by `cancel_at(pos)` while it waits: an awaiter that dies before its entry runs uses this
/// so that the loop never calls into freed memory.
class ready_queue {
public:
    ready_queue() = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;
    ~ready_queue() = default;

    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept {
        return static_cast<std::size_t>(tail_ - head_);
    }

    /// Appends an entry and returns its absolute position.
    std::uint64_t push(ready_entry e) {
        if (tail_ - head_ == capacity_) {
            grow();
        }
        const std::uint64_t pos = tail_++;
        buf_[pos & mask_] = e;
        return pos;
    }

    /// Removes and returns the first entry; the queue must not be empty.
    ready_entry pop() noexcept {
        ASYNCIO_ASSERT(!empty());
        return buf_[head_++ & mask_];
    }

    /// Replaces the entry at `pos` by a no-op if it has not run yet.
    void cancel_at(std::uint64_t pos) noexcept {
        if (pos >= head_ && pos < tail_) {
            buf_[pos & mask_] = ready_entry{&noop, nullptr};
        }
    }

private:
    static void noop(void*, bool) noexcept {}

    // Out of line, so that push() inlines into every wake-up.
    ASYNCIO_NOINLINE void grow() {
        const std::uint64_t cap = capacity_ == 0 ? 64 : capacity_ * 2;
        auto next = std::make_unique<ready_entry[]>(static_cast<std::size_t>(cap));
        for (std::uint64_t i = head_; i != tail_; ++i) {
            next[i & (cap - 1)] = buf_[i & mask_];
        }
        buf_ = std::move(next);
        capacity_ = cap;
        mask_ = cap - 1;
    }

    std::unique_ptr<ready_entry[]> buf_;
    std::uint64_t capacity_ = 0;
    std::uint64_t mask_ = 0;
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
};

} // namespace asyncio::detail
