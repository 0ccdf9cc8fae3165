// SPDX-License-Identifier: MIT
// Tests for detail::timer_heap (detail/timer_heap.hpp): random pushes, removals and pops on 2,000
// seeds checked against a linear model, full drains, and the edge cases of indexed removal.
//
// The model is a vector of (deadline, push order, entry) searched linearly: every pop must return
// exactly its earliest, equal deadlines in push order. Deadlines come from a span of 1 to 8 values,
// so most pops break a tie.
#include "support/catch.hpp"
#include "support/seeded_draw.hpp"

#include <asyncio/detail/timer_heap.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace {

using asyncio::detail::timer_entry;
using asyncio::detail::timer_heap;
using asyncio::detail::timer_state;

constexpr std::uint32_t seed_count = 2000;
constexpr int steps_per_seed = 200;
constexpr std::size_t no_entry = static_cast<std::size_t>(-1);

/// A timer the model knows to be in the heap.
struct model_timer {
    std::int64_t when = 0;
    std::uint64_t seq = 0; // push order
    std::size_t id = 0;    // index into the entry pool
};

bool earlier(const model_timer& a, const model_timer& b) {
    return a.when < b.when || (a.when == b.when && a.seq < b.seq);
}

/// Totals over all seeds, to prove that the seeds exercise every path.
struct coverage {
    long pushes = 0;
    long repushes = 0;       // an entry pushed again after it was popped or removed
    long reused_tickets = 0; // a push that got a ticket another entry held before
    long pops = 0;
    long tied_pops = 0; // the popped timer's deadline was also the next one's
    long removes = 0;
    long removed_tops = 0;  // the removed timer was the earliest
    long removed_only = 0;  // the removed timer was the only one
    long pushes_at_top = 0; // a push with the deadline of the current earliest
    std::size_t max_size = 0;
};

/// What the model knows about one entry of the pool.
struct pool_entry {
    timer_entry* entry = nullptr;
    bool in_heap = false;  // in the model
    std::int64_t when = 0; // the deadline in the model while in_heap
    bool pushed = false;   // pushed at least once before
};

/// One seed: a heap, the entries it may hold, and the model.
class world {
public:
    world(std::uint32_t seed, coverage& cov) : rng_(seed), cov_(&cov) {
        // Per seed: how many entries exist (the heap never holds more), the deadline span, and
        // how strongly pushes outnumber removals and pops (small heaps for some seeds, full ones
        // for others).
        storage_.resize(static_cast<std::size_t>(pick(1, 64)));
        span_ = pick(1, 8);
        base_ = pick(-4, 4);
        push_weight_ = pick(1, 6);
        for (timer_entry& e : storage_) {
            pool_.push_back(pool_entry{&e});
        }
    }

    /// Random pushes, removals and pops, then a drain. Returns the first discrepancy between
    /// heap and model, or an empty string.
    std::string run() {
        for (int step = 0; step < steps_per_seed; ++step) {
            if (std::string error = random_step(); !error.empty()) {
                return "step " + std::to_string(step) + ": " + error;
            }
        }
        while (!model_.empty()) {
            if (std::string error = pop(); !error.empty()) {
                return "final drain: " + error;
            }
        }
        return {};
    }

private:
    int pick(int lo, int hi) { return asyncio::testing::draw(rng_, lo, hi); }

    std::string random_step() {
        const int op = pick(0, push_weight_ + 1); // [0, push_weight_) push, then remove, then pop
        if (op < push_weight_) {
            idle_.clear();
            for (std::size_t i = 0; i < pool_.size(); ++i) {
                if (!pool_[i].in_heap) {
                    idle_.push_back(i);
                }
            }
            if (!idle_.empty()) {
                return push(
                    idle_[static_cast<std::size_t>(pick(0, static_cast<int>(idle_.size()) - 1))]);
            }
        }
        if (op == push_weight_ && !model_.empty()) {
            return remove(static_cast<std::size_t>(pick(0, static_cast<int>(model_.size()) - 1)));
        }
        return model_.empty() ? std::string() : pop();
    }

    std::string push(std::size_t id) {
        const std::int64_t when = base_ + pick(0, span_ - 1);
        if (!model_.empty() && when == model_[top_].when) {
            ++cov_->pushes_at_top;
        }
        model_.push_back(model_timer{when, next_seq_++, id});
        pool_entry& p = pool_[id];
        p.in_heap = true;
        p.when = when;
        cov_->repushes += p.pushed ? 1 : 0;
        p.pushed = true;
        ++cov_->pushes;
        peak_ = model_.size() > peak_ ? model_.size() : peak_;
        cov_->max_size = peak_ > cov_->max_size ? peak_ : cov_->max_size;

        heap_.push(*p.entry, when);

        const std::uint32_t t = p.entry->ticket;
        if (t < ticket_holder_.size()) {
            cov_->reused_tickets += ticket_holder_[t] != id ? 1 : 0;
        } else {
            ticket_holder_.resize(t + std::size_t{1}, no_entry);
        }
        ticket_holder_[t] = id;
        return check();
    }

    std::string remove(std::size_t k) {
        const model_timer victim = model_[k];
        cov_->removed_tops += k == top_ ? 1 : 0;
        cov_->removed_only += model_.size() == 1 ? 1 : 0;
        ++cov_->removes;
        model_.erase(model_.begin() + static_cast<std::ptrdiff_t>(k));
        pool_[victim.id].in_heap = false;

        heap_.remove(*pool_[victim.id].entry);

        return check();
    }

    std::string pop() {
        const model_timer want = model_[top_];
        model_.erase(model_.begin() + static_cast<std::ptrdiff_t>(top_));
        pool_[want.id].in_heap = false;
        ++cov_->pops;

        const timer_entry& got = heap_.pop();

        if (&got != pool_[want.id].entry) {
            return "pop returned entry " + id_of(&got) + " (when " + std::to_string(got.when) +
                   "), the model's earliest is entry " + std::to_string(want.id) + " (when " +
                   std::to_string(want.when) + ", push " + std::to_string(want.seq) + ")";
        }
        std::string error = check();
        if (error.empty() && !model_.empty() && model_[top_].when == want.when) {
            ++cov_->tied_pops;
        }
        return error;
    }

    /// Everything observable from outside agrees with the model: size, top_when, each entry's
    /// state and deadline; the tickets in use are distinct and dense (below the peak size).
    /// Also finds the model's earliest timer for the next step.
    std::string check() {
        top_ = 0;
        for (std::size_t i = 1; i < model_.size(); ++i) {
            top_ = earlier(model_[i], model_[top_]) ? i : top_;
        }
        if (heap_.size() != model_.size() || heap_.empty() != model_.empty()) {
            return "size " + std::to_string(heap_.size()) + ", model " +
                   std::to_string(model_.size());
        }
        if (!model_.empty() && heap_.top_when() != model_[top_].when) {
            return "top_when " + std::to_string(heap_.top_when()) + ", model " +
                   std::to_string(model_[top_].when);
        }
        // A ticket is in use in this check when its stamp is this check's number.
        ++check_number_;
        ticket_stamp_.resize(peak_, 0);
        for (std::size_t i = 0; i < pool_.size(); ++i) {
            const pool_entry& p = pool_[i];
            const timer_entry& e = *p.entry;
            if (!p.in_heap) {
                if (e.state != timer_state::idle) {
                    return "entry " + std::to_string(i) + " is not idle";
                }
                continue;
            }
            if (e.state != timer_state::in_heap || e.when != p.when) {
                return "entry " + std::to_string(i) + " is not in_heap at " +
                       std::to_string(p.when);
            }
            if (e.ticket >= peak_ || ticket_stamp_[e.ticket] == check_number_) {
                return "entry " + std::to_string(i) + " holds ticket " + std::to_string(e.ticket) +
                       ": beyond the peak size or already in use";
            }
            ticket_stamp_[e.ticket] = check_number_;
        }
        return {};
    }

    [[nodiscard]] std::string id_of(const timer_entry* e) const {
        for (std::size_t i = 0; i < pool_.size(); ++i) {
            if (pool_[i].entry == e) {
                return std::to_string(i);
            }
        }
        return "<not an entry of this seed>";
    }

    std::mt19937 rng_;
    coverage* cov_;
    int span_ = 1;
    std::int64_t base_ = 0;
    int push_weight_ = 1;
    std::deque<timer_entry> storage_; // stable addresses
    std::vector<pool_entry> pool_;
    std::vector<std::size_t> idle_;
    std::vector<model_timer> model_;
    std::size_t top_ = 0; // index in model_ of the earliest timer, found by check()
    std::uint64_t next_seq_ = 0;
    std::size_t peak_ = 0;
    std::vector<std::size_t> ticket_holder_; // ticket -> the entry that last held it
    std::vector<std::uint64_t> ticket_stamp_;
    std::uint64_t check_number_ = 0;
    timer_heap heap_;
};

/// Pops everything; the indices into `entries` in the order they came out.
std::vector<std::size_t> drain(timer_heap& heap, const std::vector<timer_entry>& entries) {
    std::vector<std::size_t> order;
    while (!heap.empty()) {
        const timer_entry& e = heap.pop();
        order.push_back(static_cast<std::size_t>(&e - entries.data()));
    }
    return order;
}

TEST_CASE("timer_heap: random pushes, removals and pops always pop the earliest timer, equal "
          "deadlines in push order") {
    coverage cov;
    for (std::uint32_t seed = 0; seed < seed_count; ++seed) {
        // Also reported if an ASYNCIO_ASSERT in remove() aborts the run.
        INFO("seed " << seed);
        const std::string error = world(seed, cov).run();
        if (!error.empty()) {
            INFO(error);
            REQUIRE(error.empty());
        }
    }
    // Every path was taken many times (the actual counts, in the INFO below, are several times
    // these bounds).
    INFO("pushes " << cov.pushes << " (again " << cov.repushes << ", reused tickets "
                   << cov.reused_tickets << ", at the top's deadline " << cov.pushes_at_top
                   << "), pops " << cov.pops << " (tied " << cov.tied_pops << "), removes "
                   << cov.removes << " (of the top " << cov.removed_tops << ", of the only "
                   << cov.removed_only << "), max size " << cov.max_size);
    CHECK(cov.pushes > 100000);
    CHECK(cov.repushes > 50000);
    CHECK(cov.reused_tickets > 50000);
    CHECK(cov.pushes_at_top > 20000);
    CHECK(cov.pops > 50000);
    CHECK(cov.tied_pops > 20000);
    CHECK(cov.removes > 20000);
    CHECK(cov.removed_tops > 5000);
    CHECK(cov.removed_only > 2000);
    CHECK(cov.max_size == 64);
}

TEST_CASE("timer_heap: draining pops every timer once, ordered by deadline and then push order") {
    const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 6, 16, 17, 21, 22, 85, 86, 1000, 5000};
    for (const std::size_t n : sizes) {
        for (std::uint32_t seed = 0; seed < 4; ++seed) {
            INFO("n " << n << ", seed " << seed);
            std::mt19937 rng(seed);
            // Seed 0: every deadline equal (push order alone); then spans of 3, 10 and n.
            const int span = seed == 0 ? 1 : seed == 1 ? 3 : seed == 2 ? 10 : static_cast<int>(n);
            std::vector<timer_entry> entries(n);
            std::vector<std::int64_t> when(n);
            timer_heap heap;
            for (std::size_t i = 0; i < n; ++i) {
                when[i] = asyncio::testing::draw(rng, 0, span > 0 ? span - 1 : 0);
                heap.push(entries[i], when[i]);
            }
            REQUIRE(heap.size() == n);
            const std::vector<std::size_t> order = drain(heap, entries);
            REQUIRE(order.size() == n);
            std::vector<bool> seen(n, false);
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t i = order[k];
                REQUIRE(i < n);
                REQUIRE_FALSE(seen[i]);
                seen[i] = true;
                REQUIRE(entries[i].state == timer_state::idle);
                if (k > 0) {
                    // Push order is the index: (when, index) strictly increases.
                    const std::size_t p = order[k - 1];
                    INFO("position " << k << ": entry " << p << " (when " << when[p]
                                     << ") before entry " << i << " (when " << when[i] << ")");
                    REQUIRE((when[p] < when[i] || (when[p] == when[i] && p < i)));
                }
            }
        }
    }
}

TEST_CASE("timer_heap: removing the earliest timer makes the next one the top") {
    std::vector<timer_entry> e(6);
    timer_heap heap;
    const std::int64_t when[] = {30, 10, 50, 10, 20, 40};
    for (std::size_t i = 0; i < e.size(); ++i) {
        heap.push(e[i], when[i]);
    }
    REQUIRE(heap.top_when() == 10);
    heap.remove(e[1]); // the earliest: 10, pushed before e[3]
    CHECK(e[1].state == timer_state::idle);
    CHECK(heap.size() == 5);
    CHECK(heap.top_when() == 10);
    heap.remove(e[3]);
    CHECK(heap.top_when() == 20);
    heap.remove(e[4]);
    CHECK(heap.top_when() == 30);
    CHECK(drain(heap, e) == std::vector<std::size_t>{0, 5, 2});
}

TEST_CASE("timer_heap: removing the timer in the last slot leaves the others in order") {
    std::vector<timer_entry> e(7);
    timer_heap heap;
    // Increasing deadlines never sift up: entry i sits in slot i, e[6] in the last one.
    for (std::size_t i = 0; i < e.size(); ++i) {
        heap.push(e[i], static_cast<std::int64_t>(i));
    }
    heap.remove(e[6]);
    CHECK(e[6].state == timer_state::idle);
    CHECK(heap.size() == 6);
    CHECK(heap.top_when() == 0);
    // The pop moves e[5] into slot 0, from where it sinks to slot 1: the slots are now e[1], e[5],
    // e[2], e[3], e[4], and e[4] is in the last one.
    CHECK(&heap.pop() == &e[0]);
    heap.remove(e[4]);
    CHECK(heap.size() == 4);
    CHECK(heap.top_when() == 1);
    CHECK(drain(heap, e) == std::vector<std::size_t>{1, 2, 3, 5});
}

TEST_CASE("timer_heap: removing the only timer empties the heap, and the timer can be pushed "
          "again") {
    std::vector<timer_entry> e(2);
    timer_heap heap;
    heap.push(e[0], 7);
    CHECK(e[0].state == timer_state::in_heap);
    heap.remove(e[0]);
    CHECK(heap.empty());
    CHECK(heap.size() == 0);
    CHECK(e[0].state == timer_state::idle);

    heap.push(e[0], 3);
    heap.push(e[1], 3);
    CHECK(heap.size() == 2);
    CHECK(heap.top_when() == 3);
    heap.remove(e[1]);
    heap.remove(e[0]);
    CHECK(heap.empty());
    heap.push(e[1], 5);
    CHECK(&heap.pop() == &e[1]);
    CHECK(heap.empty());
}

TEST_CASE("timer_heap: removing every timer in reverse push order empties the heap, and the freed "
          "tickets serve the next pushes") {
    constexpr std::size_t n = 40;
    std::vector<timer_entry> e(n);
    timer_heap heap;
    // Deadlines 3, 2, 1, 0, 3, 2, ...: each push sifts up past earlier ones, and there are ties.
    const auto when_of = [](std::size_t i) { return static_cast<std::int64_t>((i * 7 + 3) % 4); };
    for (std::size_t i = 0; i < n; ++i) {
        heap.push(e[i], when_of(i));
    }
    for (std::size_t i = n; i-- > 0;) {
        heap.remove(e[i]);
        CHECK(e[i].state == timer_state::idle);
        REQUIRE(heap.size() == i);
        if (i > 0) {
            std::int64_t min = when_of(0);
            for (std::size_t j = 1; j < i; ++j) {
                min = when_of(j) < min ? when_of(j) : min;
            }
            CHECK(heap.top_when() == min);
        }
    }
    CHECK(heap.empty());
    // Pushed again in the opposite order: the tickets come from the freed ones (no more than n),
    // and the order is now by deadline, then by the new push order.
    for (std::size_t i = n; i-- > 0;) {
        heap.push(e[i], when_of(i));
        CHECK(e[i].ticket < n);
    }
    const std::vector<std::size_t> order = drain(heap, e);
    REQUIRE(order.size() == n);
    for (std::size_t k = 1; k < n; ++k) {
        const std::size_t p = order[k - 1];
        const std::size_t i = order[k];
        INFO("entry " << p << " before entry " << i);
        CHECK((when_of(p) < when_of(i) || (when_of(p) == when_of(i) && p > i)));
    }
}

TEST_CASE("timer_heap: a timer pushed with the current top's deadline comes out after the top") {
    std::vector<timer_entry> e(12);
    timer_heap heap;
    heap.push(e[0], 5);
    heap.push(e[1], 9);
    heap.push(e[2], 5);
    // Every round pushes one timer at the top's deadline and pops one: the pop is always the
    // oldest of the timers at that deadline, never the one just pushed.
    std::vector<std::size_t> popped;
    for (std::size_t i = 3; i < 10; ++i) {
        heap.push(e[i], heap.top_when());
        popped.push_back(static_cast<std::size_t>(&heap.pop() - e.data()));
        CHECK(heap.top_when() == 5);
    }
    CHECK(popped == std::vector<std::size_t>{0, 2, 3, 4, 5, 6, 7});
    // Removing the top in between: the next oldest at that deadline takes its place.
    heap.remove(e[8]);
    heap.push(e[10], 5);
    heap.push(e[11], 1);
    CHECK(heap.top_when() == 1);
    CHECK(drain(heap, e) == std::vector<std::size_t>{11, 9, 10, 1});
}

} // namespace
