// SPDX-License-Identifier: MIT
// Tests for detail::timer_wheel (detail/timer_wheel.hpp): random pushes, removals, pops and clock
// moves on 1,000 seeds checked against a linear model, and the edges between its parts (fine and
// coarse buckets, the sorted run, the late and far heaps): equal deadlines across them, removal
// from each, deadlines at the ends of the clock, clock jumps over many wheel rounds.
#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/loop.hpp>

#include <asyncio/detail/timer_wheel.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using asyncio::detail::timer_entry;
using asyncio::detail::timer_place;
using asyncio::detail::timer_state;
using asyncio::detail::timer_wheel;

constexpr std::int64_t fine_ns = std::int64_t{1} << timer_wheel::slot_shift;
constexpr std::int64_t coarse_ns = fine_ns << timer_wheel::level_bits;
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000 * ms;

/// Pops everything, returning indices into `e`.
std::vector<std::size_t> drain(timer_wheel& w, std::vector<timer_entry>& e) {
    std::vector<std::size_t> order;
    while (!w.empty()) {
        timer_entry& t = w.pop();
        CHECK(t.state == timer_state::idle);
        order.push_back(static_cast<std::size_t>(&t - e.data()));
    }
    return order;
}

/// Counts over all seeds of where timers were when they left, to prove every path ran.
struct wheel_coverage {
    long left_from[5] = {}; // by timer_place, pops and removals
    long removed_from[5] = {};
    long cascaded = 0; // pushed into a coarse bucket, left from a fine bucket or the run
    long tied_pops = 0;
    long jumps = 0;
};

/// One seed: a wheel, a pool of entries and a linear model ordered by (deadline, push order).
class wheel_world {
public:
    wheel_world(std::uint32_t seed, wheel_coverage& cov) : rng_(seed), cov_(&cov) {
        pool_.resize(static_cast<std::size_t>(pick(1, 80)));
        in_.assign(pool_.size(), false);
        pushed_as_.assign(pool_.size(), timer_place::late);
        now_ = pick(0, 3) == 0 ? 0 : std::int64_t{1'000'000'000'000} + pick(0, 1'000'000);
    }

    std::string run() {
        for (int step = 0; step < 300; ++step) {
            if (std::string error = random_step(); !error.empty()) {
                return "step " + std::to_string(step) + ": " + error;
            }
        }
        while (!model_.empty()) {
            if (std::string error = pop_earliest(); !error.empty()) {
                return "final drain: " + error;
            }
        }
        return wheel_.empty() ? std::string() : "wheel not empty after the drain";
    }

private:
    struct model_timer {
        std::int64_t when;
        std::uint64_t seq;
        std::size_t id;
    };

    // An integer in [lo, hi] from two raw 32-bit outputs (seeded_draw.hpp's draw is for int
    // ranges; the spans here reach 3,000 s in nanoseconds). The modulo's bias does not matter.
    std::int64_t pick(std::int64_t lo, std::int64_t hi) {
        const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
        const std::uint64_t x = (std::uint64_t{rng_()} << 32U) | rng_();
        return lo + static_cast<std::int64_t>(x % span);
    }

    std::int64_t random_deadline() {
        switch (pick(0, 9)) {
        case 0: // an existing deadline: a tie
            if (!model_.empty()) {
                return model_[static_cast<std::size_t>(
                                  pick(0, static_cast<std::int64_t>(model_.size()) - 1))]
                    .when;
            }
            return now_;
        case 1:
            return now_ - pick(0, 3 * fine_ns); // already due
        case 2:
        case 3:
            return now_ + pick(0, 4 * fine_ns);
        case 4:
        case 5:
            return now_ + pick(0, 1024 * fine_ns); // the fine level
        case 6:
        case 7:
            return now_ + pick(0, 1100 * coarse_ns); // the coarse level and just beyond
        case 8:
            return now_ + pick(0, 1000 * s); // mostly far
        default:
            return pick(0, 20) == 0 ? std::numeric_limits<std::int64_t>::max()
                                    : now_ + pick(0, 3) * fine_ns; // slot edges
        }
    }

    std::string random_step() {
        const std::int64_t op = pick(0, 9);
        if (op <= 4) {
            std::vector<std::size_t> idle;
            for (std::size_t i = 0; i < pool_.size(); ++i) {
                if (!in_[i]) {
                    idle.push_back(i);
                }
            }
            if (!idle.empty()) {
                const std::size_t id = idle[static_cast<std::size_t>(
                    pick(0, static_cast<std::int64_t>(idle.size()) - 1))];
                const std::int64_t when = random_deadline();
                wheel_.push(pool_[id], when);
                model_.push_back(model_timer{when, next_seq_++, id});
                in_[id] = true;
                pushed_as_[id] = pool_[id].place;
                return check();
            }
        }
        if (op <= 6 && !model_.empty()) {
            const std::size_t k =
                static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(model_.size()) - 1));
            const std::size_t id = model_[k].id;
            note_leaving(id);
            ++cov_->removed_from[static_cast<int>(pool_[id].place)];
            wheel_.remove(pool_[id]);
            model_.erase(model_.begin() + static_cast<std::ptrdiff_t>(k));
            in_[id] = false;
            if (pool_[id].state != timer_state::idle) {
                return "a removed timer is not idle";
            }
            return check();
        }
        if (op == 7 && !model_.empty()) {
            return pop_earliest();
        }
        // The loop's iteration: the clock moves (a little, or over many wheel rounds), the due
        // timers are popped, the wheel is told the time.
        const std::int64_t jump = pick(0, 4) == 0 ? pick(0, 3000 * s) : pick(0, 3 * coarse_ns);
        cov_->jumps += jump > 1024 * coarse_ns ? 1 : 0;
        now_ += jump;
        for (;;) {
            const std::size_t k = earliest();
            timer_entry* got = wheel_.pop_if_due(now_);
            if (k == model_.size() || model_[k].when > now_) {
                if (got != nullptr) {
                    return "pop_if_due returned a timer that is not due";
                }
                break;
            }
            if (std::string error = took(k, got); !error.empty()) {
                return "pop_if_due: " + error;
            }
        }
        wheel_.advance(now_);
        return check();
    }

    // The model's earliest timer (model_.size() when empty).
    [[nodiscard]] std::size_t earliest() const {
        std::size_t best = model_.size();
        for (std::size_t k = 0; k < model_.size(); ++k) {
            if (best == model_.size() || model_[k].when < model_[best].when ||
                (model_[k].when == model_[best].when && model_[k].seq < model_[best].seq)) {
                best = k;
            }
        }
        return best;
    }

    void note_leaving(std::size_t id) {
        cov_->left_from[static_cast<int>(pool_[id].place)] += 1;
        const timer_place p = pool_[id].place;
        if (pushed_as_[id] == timer_place::coarse &&
            (p == timer_place::bucket || p == timer_place::run)) {
            ++cov_->cascaded;
        }
    }

    std::string pop_earliest() {
        const std::size_t k = earliest();
        timer_entry& got = wheel_.pop();
        return took(k, &got);
    }

    // The wheel gave `got`; the model says model_[k].
    std::string took(std::size_t k, timer_entry* got) {
        const model_timer want = model_[k];
        if (got != &pool_[want.id]) {
            return "got " +
                   (got == nullptr ? std::string("nothing")
                                   : "entry " + std::to_string(got - pool_.data()) + " (when " +
                                         std::to_string(got->when) + ")") +
                   ", the model's earliest is entry " + std::to_string(want.id) + " (when " +
                   std::to_string(want.when) + ", push " + std::to_string(want.seq) + ")";
        }
        note_leaving(want.id); // a pop leaves the entry's place as it was
        model_.erase(model_.begin() + static_cast<std::ptrdiff_t>(k));
        in_[want.id] = false;
        if (got->state != timer_state::idle) {
            return "a popped timer is not idle";
        }
        const std::size_t next = earliest();
        cov_->tied_pops += next != model_.size() && model_[next].when == want.when ? 1 : 0;
        return check();
    }

    std::string check() {
        if (wheel_.size() != model_.size()) {
            return "size " + std::to_string(wheel_.size()) + ", model " +
                   std::to_string(model_.size());
        }
        for (const model_timer& m : model_) {
            if (pool_[m.id].state != timer_state::in_heap || pool_[m.id].when != m.when) {
                return "entry " + std::to_string(m.id) + " is not pending at its deadline";
            }
        }
        if (!model_.empty() && pick(0, 3) == 0) {
            // Asking for the top may open buckets: only sometimes, so that pushes also meet
            // unopened ones.
            const std::int64_t want = model_[earliest()].when;
            if (wheel_.top_when() != want) {
                return "top_when " + std::to_string(wheel_.top_when()) + ", model " +
                       std::to_string(want);
            }
        }
        return {};
    }

    std::mt19937 rng_;
    wheel_coverage* cov_;
    std::vector<timer_entry> pool_;
    std::vector<bool> in_;
    std::vector<timer_place> pushed_as_;
    std::vector<model_timer> model_;
    timer_wheel wheel_;
    std::int64_t now_ = 0;
    std::uint64_t next_seq_ = 0;
};

TEST_CASE("timer_wheel: random pushes, removals, pops and clock jumps agree with a linear model "
          "on 1,000 seeds") {
    wheel_coverage cov;
    for (std::uint32_t seed = 1; seed <= 1000; ++seed) {
        wheel_world world(seed, cov);
        const std::string error = world.run();
        INFO("seed " << seed);
        REQUIRE(error.empty());
        if (!error.empty()) {
            FAIL(error);
        }
    }
    for (const timer_place p : {timer_place::late, timer_place::bucket, timer_place::coarse,
                                timer_place::run, timer_place::far}) {
        INFO("place " << static_cast<int>(p));
        CHECK(cov.left_from[static_cast<int>(p)] > 100);
        CHECK(cov.removed_from[static_cast<int>(p)] > 20);
    }
    CHECK(cov.cascaded > 100);
    CHECK(cov.tied_pops > 100);
    CHECK(cov.jumps > 100);
}

TEST_CASE("timer_wheel: equal deadlines in the far heap, a coarse bucket, the run and the late "
          "heap come out in push order") {
    std::vector<timer_entry> e(5);
    timer_wheel w;
    const std::int64_t d = 100 * s;
    w.push(e[0], d); // 100 s ahead of the cursor: beyond the coarse level
    CHECK(e[0].place == timer_place::far);
    w.advance(90 * s); // nothing but far timers: the cursor moves to 90 s
    w.push(e[1], d);   // now 10 s ahead: a coarse bucket
    CHECK(e[1].place == timer_place::coarse);
    CHECK(w.pop_if_due(d - 1) == nullptr); // opens the bucket of d: e[1] is in the run
    CHECK(e[1].place == timer_place::run);
    w.push(e[2], d); // d's bucket is open: the late heap
    CHECK(e[2].place == timer_place::late);
    w.push(e[3], d - 1);
    w.push(e[4], d + 1);
    CHECK(w.size() == 5);
    CHECK(w.top_when() == d - 1);
    CHECK(drain(w, e) == std::vector<std::size_t>{3, 0, 1, 2, 4});
}

TEST_CASE("timer_wheel: ten thousand timers at one deadline come out in push order, with three "
          "in four removed and more pushed at that deadline after the first pops") {
    constexpr std::size_t n = 10'000;
    std::vector<timer_entry> e(n + 100);
    timer_wheel w;
    const std::int64_t d = 5 * ms;
    for (std::size_t i = 0; i < n; ++i) {
        w.push(e[i], d);
    }
    CHECK(e[0].place == timer_place::bucket);
    for (std::size_t i = 0; i < n; ++i) {
        if (i % 4 != 0) {
            w.remove(e[i]); // the bucket compacts as holes outnumber timers
            REQUIRE(e[i].state == timer_state::idle);
        }
    }
    REQUIRE(w.size() == n / 4);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < 10; ++i) {
        order.push_back(static_cast<std::size_t>(&w.pop() - e.data()));
    }
    for (std::size_t i = n; i < n + 100; ++i) {
        w.push(e[i], d); // after the run was opened: the late heap, still after every earlier one
    }
    CHECK(e[n].place == timer_place::late);
    for (std::size_t i : drain(w, e)) {
        order.push_back(i);
    }
    std::vector<std::size_t> want;
    for (std::size_t i = 0; i < n; i += 4) {
        want.push_back(i);
    }
    for (std::size_t i = n; i < n + 100; ++i) {
        want.push_back(i);
    }
    CHECK(order == want);
}

TEST_CASE("timer_wheel: a timer removed from a fine bucket, a coarse bucket, the run or a heap "
          "leaves at once and never comes out") {
    std::vector<timer_entry> e(8);
    timer_wheel w;
    w.push(e[0], 1 * ms);   // fine bucket
    w.push(e[1], 1 * ms);   // fine bucket, same slot
    w.push(e[2], 2 * s);    // coarse bucket
    w.push(e[3], 2 * s);    // coarse bucket
    w.push(e[4], 1000 * s); // far heap
    w.push(e[5], 1000 * s);
    CHECK(e[0].place == timer_place::bucket);
    CHECK(e[2].place == timer_place::coarse);
    CHECK(e[4].place == timer_place::far);
    w.remove(e[0]);
    w.remove(e[3]);
    w.remove(e[4]);
    CHECK(w.size() == 3);
    CHECK(w.top_when() == 1 * ms); // opens the bucket: e[1] in the run
    CHECK(e[1].place == timer_place::run);
    w.push(e[6], 1 * ms); // late heap
    w.push(e[7], 1 * ms);
    w.remove(e[1]);
    w.remove(e[7]);
    CHECK(w.size() == 3);
    for (const std::size_t i : {0U, 1U, 3U, 4U, 7U}) {
        CHECK(e[i].state == timer_state::idle);
    }
    CHECK(drain(w, e) == std::vector<std::size_t>{6, 2, 5});
}

TEST_CASE("timer_wheel: deadlines at the ends of the clock and before the cursor come out in "
          "order") {
    std::vector<timer_entry> e(6);
    timer_wheel w;
    w.advance(10 * s);
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    w.push(e[0], max);
    w.push(e[1], 10 * s + 3);
    w.push(e[2], min);
    w.push(e[3], max);
    w.push(e[4], -5);
    w.push(e[5], 9 * s); // before the cursor: the late heap
    CHECK(e[2].place == timer_place::late);
    CHECK(e[5].place == timer_place::late);
    CHECK(drain(w, e) == std::vector<std::size_t>{2, 4, 5, 1, 0, 3});
}

TEST_CASE("timer_wheel: after a clock jump over many wheel rounds, short delays go to fine buckets "
          "again and earlier coarse timers still come first") {
    std::vector<timer_entry> e(4);
    timer_wheel w;
    w.push(e[0], 3000 * s); // far
    w.advance(2000 * s);    // far timers only: the cursor jumps 2,000 s (30,000 coarse slots)
    w.push(e[1], 2000 * s + 3 * ms);
    CHECK(e[1].place == timer_place::bucket);
    w.push(e[2], 2050 * s); // coarse
    CHECK(e[2].place == timer_place::coarse);
    CHECK(w.pop_if_due(2000 * s + 3 * ms) == &e[1]);
    w.advance(2000 * s + 3 * ms);
    // Only a coarse timer (and the far one) left: the cursor stops before the coarse slot.
    w.advance(2060 * s);
    w.push(e[3], 2050 * s);
    CHECK(e[3].place != timer_place::late);
    CHECK(drain(w, e) == std::vector<std::size_t>{2, 3, 0});
}

TEST_CASE("event_loop: virtual-clock timers across several wheel rounds fire at their exact "
          "deadlines, in order, with ties in registration order") {
    asyncio::event_loop loop{asyncio::clock_kind::virtual_time};
    std::vector<std::pair<int, std::int64_t>> fired;
    const auto at = [&](int id) {
        return
            [&fired, &loop, id] { fired.emplace_back(id, loop.time().time_since_epoch().count()); };
    };
    using std::chrono::nanoseconds;
    loop.call_later(nanoseconds(3 * 86400 * s + 7), at(1)); // three days: far
    loop.call_later(nanoseconds(70 * ms + 1), at(2));       // coarse
    loop.call_later(nanoseconds(1), at(3));                 // fine
    loop.call_later(nanoseconds(3 * 86400 * s + 7), at(4)); // tie with 1
    loop.call_later(nanoseconds(3600 * s), [&] {
        at(5)();
        // An hour in: short delays and another tie with 1 and 4.
        loop.call_later(nanoseconds(0), at(6));
        loop.call_later(nanoseconds(50'000), at(7));
        loop.call_at(asyncio::loop_clock::time_point(nanoseconds(3 * 86400 * s + 7)), at(8));
    });
    auto cancelled = loop.call_later(nanoseconds(70 * ms + 1), at(99));
    loop.call_later(nanoseconds(4 * 86400 * s), [&] { loop.stop(); });
    cancelled.cancel();
    CHECK(loop.pending_timers() == 6);
    loop.run_forever();
    const std::vector<std::pair<int, std::int64_t>> want{
        {3, 1},
        {2, 70 * ms + 1},
        {5, 3600 * s},
        {6, 3600 * s},
        {7, 3600 * s + 50'000},
        {1, 3 * 86400 * s + 7},
        {4, 3 * 86400 * s + 7},
        {8, 3 * 86400 * s + 7},
    };
    CHECK(fired == want);
    CHECK(loop.time().time_since_epoch().count() == 4 * 86400 * s);
}

TEST_CASE("event_loop: a timer cancelled while in a wheel bucket leaves pending_timers at once "
          "and never runs") {
    asyncio::event_loop loop{asyncio::clock_kind::virtual_time};
    int ran = 0;
    using std::chrono::milliseconds;
    auto a = loop.call_later(milliseconds(5), [&] { ran += 1; });    // fine bucket
    auto b = loop.call_later(milliseconds(500), [&] { ran += 10; }); // coarse bucket
    loop.call_later(milliseconds(600), [&] { loop.stop(); });
    CHECK(loop.pending_timers() == 3);
    a.cancel();
    CHECK(loop.pending_timers() == 2);
    b.cancel();
    CHECK(loop.pending_timers() == 1);
    loop.run_forever();
    CHECK(ran == 0);
    CHECK(loop.pending_timers() == 0);
}

} // namespace
