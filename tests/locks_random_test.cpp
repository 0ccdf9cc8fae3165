// SPDX-License-Identifier: MIT
// Randomized test of lock, semaphore and condition under random cancellation, on 3,000 seeds
// each: every step is checked against a model (capacity never exceeded, FIFO kept: nobody
// overtakes a waiter whose cancellation is not pending, a condition waiter always returns
// holding the lock) and a lost wake-up shows as a run that does not finish (a timeout fails it).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using asyncio::testing::run_virtual;

namespace {

constexpr std::uint64_t seed_count = 3000;

/// splitmix64: a seeded stream of 64-bit numbers.
struct draw {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// 0..n-1 by a fixed formula (the high 32 bits scaled by n), portable across libraries.
    int below(int n) noexcept {
        return static_cast<int>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
    }
};

struct actor {
    asyncio::task_ref ref;
    bool in_acquire = false;
    bool cancel_pending = false;
    bool done = false;
};

struct world {
    draw rng{0};
    std::vector<actor> actors;
    std::deque<int> queue; // actors inside acquire, in call order
    int holders = 0;
    int capacity = 1;
    std::vector<std::string> errors;
    long acquired_after_wait = 0;
    long cancelled_in_acquire = 0;

    void fail(const std::string& what) { errors.push_back(what); }

    // The actor `id` got the lock or a unit: everyone ahead of it must be on the way out.
    void granted(int id) {
        for (int other : queue) {
            if (other == id) {
                break;
            }
            if (!actors[static_cast<std::size_t>(other)].cancel_pending) {
                fail("actor " + std::to_string(id) + " overtook " + std::to_string(other));
            }
        }
        leave(id);
        if (++holders > capacity) {
            fail("capacity exceeded");
        }
    }
    void leave(int id) {
        for (auto it = queue.begin(); it != queue.end(); ++it) {
            if (*it == id) {
                queue.erase(it);
                break;
            }
        }
        auto& a = actors[static_cast<std::size_t>(id)];
        a.in_acquire = false;
        a.cancel_pending = false;
    }
};

template <class Primitive> asyncio::task<> acquirer(world* w, Primitive* p, int id, int rounds) {
    for (int r = 0; r < rounds; ++r) {
        try {
            co_await asyncio::sleep(std::chrono::milliseconds(w->rng.below(3)));
            w->queue.push_back(id);
            w->actors[static_cast<std::size_t>(id)].in_acquire = true;
            auto held = co_await p->acquire_guard();
            w->granted(id);
            struct out {
                world* w;
                ~out() { --w->holders; }
            } leaving{w};
            co_await asyncio::sleep(std::chrono::milliseconds(w->rng.below(3)));
        } catch (const asyncio::cancelled_error&) {
            auto& a = w->actors[static_cast<std::size_t>(id)];
            if (a.in_acquire) {
                ++w->cancelled_in_acquire;
                if (!a.cancel_pending) {
                    w->fail("cancelled_error from acquire without a pending cancel");
                }
                w->leave(id);
            }
            asyncio::current_task().uncancel();
        }
    }
    w->actors[static_cast<std::size_t>(id)].done = true;
}

asyncio::task<> canceller(world* w, int shots) {
    for (int i = 0; i < shots; ++i) {
        co_await asyncio::sleep(std::chrono::milliseconds(w->rng.below(4)));
        if (w->rng.below(2) == 0) {
            co_await asyncio::sleep(0s); // land between a wake-up and the waiter's step
        }
        auto& a =
            w->actors[static_cast<std::size_t>(w->rng.below(static_cast<int>(w->actors.size())))];
        if (!a.done && a.ref.cancel() && a.in_acquire) {
            a.cancel_pending = true;
        }
    }
}

template <class Primitive> asyncio::task<> scenario(world* w, Primitive* p, int n) {
    std::vector<asyncio::task_handle<void>> hs;
    w->actors.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        hs.push_back(asyncio::create_task(acquirer(w, p, i, 1 + w->rng.below(4))));
        w->actors[static_cast<std::size_t>(i)].ref = hs.back();
    }
    auto c = asyncio::create_task(canceller(w, w->rng.below(8)));
    co_await asyncio::timeout(10s, [&]() -> asyncio::task<> {
        co_await asyncio::gather(hs);
        co_await c;
    });
}

template <class Primitive, class Make> void check_seeds(Make make, const char* what) {
    long waited = 0;
    long cancelled = 0;
    for (std::uint64_t seed = 1; seed <= seed_count; ++seed) {
        world w;
        w.rng.state = seed;
        const int n = 2 + w.rng.below(5);
        auto p = make(w);
        try {
            run_virtual(scenario(&w, p.get(), n));
        } catch (const asyncio::timeout_error&) {
            w.fail("lost wake-up: the actors did not finish");
        }
        if (w.holders != 0 || p->locked()) {
            w.fail("not released at the end");
        }
        INFO(what << " seed " << seed);
        REQUIRE(w.errors == std::vector<std::string>{});
        cancelled += w.cancelled_in_acquire;
        waited += static_cast<long>(n);
    }
    // The seeds exercise cancellation inside acquire (the interesting path).
    CHECK(cancelled > 100);
    CHECK(waited > 0);
}

// ---- condition: consumers wait_for an item under random cancellation, producers notify.

struct cond_world {
    draw rng{0};
    asyncio::condition cond;
    int items = 0;
    int owner = -1;
    int consumed = 0;
    std::vector<asyncio::task_ref> consumers;
    std::vector<std::string> errors;
    long cancels_seen = 0;
};

asyncio::task<> consumer(cond_world* w, int id, int wants) {
    while (wants > 0) {
        try {
            auto held = co_await w->cond.acquire_guard();
            if (w->owner != -1) {
                w->errors.push_back("two owners after acquire");
            }
            w->owner = id;
            struct clear_owner {
                cond_world* w;
                ~clear_owner() { w->owner = -1; }
            } clear{w};
            w->owner = -1;
            try {
                co_await w->cond.wait_for([w] { return w->items > 0; });
            } catch (const asyncio::cancelled_error&) {
                if (!w->cond.locked()) {
                    w->errors.push_back("cancelled wait did not re-acquire");
                }
                ++w->cancels_seen;
                throw;
            }
            if (!w->cond.locked() || w->owner != -1) {
                w->errors.push_back("wait_for returned without the lock to itself");
            }
            w->owner = id;
            --w->items;
            ++w->consumed;
            --wants;
        } catch (const asyncio::cancelled_error&) {
            asyncio::current_task().uncancel();
        }
    }
}

asyncio::task<> producer(cond_world* w, int count) {
    for (int i = 0; i < count; ++i) {
        co_await asyncio::sleep(std::chrono::milliseconds(w->rng.below(3)));
        auto held = co_await w->cond.acquire_guard();
        ++w->items;
        if (w->rng.below(4) == 0) {
            w->cond.notify_all();
        } else {
            w->cond.notify(1);
        }
    }
}

asyncio::task<> cond_canceller(cond_world* w, int shots) {
    for (int i = 0; i < shots; ++i) {
        co_await asyncio::sleep(std::chrono::milliseconds(w->rng.below(4)));
        if (w->rng.below(2) == 0) {
            co_await asyncio::sleep(0s);
        }
        auto& r = w->consumers[static_cast<std::size_t>(
            w->rng.below(static_cast<int>(w->consumers.size())))];
        (void)r.cancel();
    }
}

asyncio::task<> cond_scenario(cond_world* w) {
    const int n = 1 + w->rng.below(4);
    std::vector<asyncio::task_handle<void>> hs;
    int total = 0;
    for (int i = 0; i < n; ++i) {
        const int wants = 1 + w->rng.below(3);
        total += wants;
        hs.push_back(asyncio::create_task(consumer(w, i, wants)));
        w->consumers.push_back(hs.back());
    }
    std::vector<asyncio::task_handle<void>> ps;
    while (total > 0) {
        const int k = 1 + w->rng.below(total);
        ps.push_back(asyncio::create_task(producer(w, k)));
        total -= k;
    }
    auto c = asyncio::create_task(cond_canceller(w, w->rng.below(8)));
    co_await asyncio::timeout(10s, [&]() -> asyncio::task<> {
        co_await asyncio::gather(ps);
        co_await c;
        for (auto& h : hs) {
            if (!h.done()) {
                co_await h; // cancelled consumers retry, so all finish
            }
        }
    });
}

} // namespace

TEST_CASE("locks random: lock under random cancellation keeps FIFO, exclusion, no lost wake-up") {
    check_seeds<asyncio::lock>([](world&) { return std::make_unique<asyncio::lock>(); }, "lock");
}

TEST_CASE("locks random: semaphore under random cancellation keeps FIFO, capacity, no lost "
          "wake-up") {
    check_seeds<asyncio::semaphore>(
        [](world& w) {
            w.capacity = 1 + w.rng.below(3);
            return std::make_unique<asyncio::semaphore>(w.capacity);
        },
        "semaphore");
}

TEST_CASE("locks random: condition waiters under random cancellation always re-acquire and no "
          "notify is lost") {
    long cancels = 0;
    for (std::uint64_t seed = 1; seed <= seed_count; ++seed) {
        cond_world w;
        w.rng.state = seed;
        try {
            run_virtual(cond_scenario(&w));
        } catch (const asyncio::timeout_error&) {
            w.errors.push_back("lost wake-up: the consumers did not finish");
        }
        if (w.items != 0 || w.cond.locked()) {
            w.errors.push_back("items left or lock held at the end");
        }
        INFO("seed " << seed);
        REQUIRE(w.errors == std::vector<std::string>{});
        cancels += w.cancels_seen;
    }
    CHECK(cancels > 100);
}
