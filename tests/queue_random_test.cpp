// SPDX-License-Identifier: MIT
// Randomized test of queue, lifo_queue and priority_queue: producers, consumers, joiners,
// cancellations and shutdowns on 5,000 seeds, each step checked against a model of asyncio.Queue.
//
// The Python twin queue_random.py (kept outside the repo) runs the same actors with the same
// checks on CPython 3.13.0 under a virtual clock ("py: 5000 seeds ok"), which shows that every
// check below holds for asyncio itself (its PriorityQueue stamped with an insertion counter, as
// priority_queue keeps equal priorities in insertion order; equal deadlines are not FIFO there,
// which no check depends on).
//
// Mutations of queue.hpp that this test catches on its own (the unit tests in queue_test.cpp
// catch them too): a woken getter or putter that keeps its wake-up when cancelled, a cancelled
// put that inserts, a loser that is not queued again, a join that swallows cancellation or
// always suspends, a get or put that waits behind other waiters although it could proceed,
// shutdown forgetting getters, shutdown(true) not counting removed items.

#include "support/catch.hpp"
#include "support/seeded_draw.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::lifetime_scope;
using asyncio::testing::run_virtual;
using asyncio::testing::tracked;

namespace {

constexpr std::uint32_t seed_count = 5000;

struct item {
    int prio = 0;
    int id = 0;
    tracked life;
};

struct by_prio {
    bool operator()(const item& a, const item& b) const noexcept { return a.prio < b.prio; }
};

enum class order { fifo, lifo, priority };

enum class fate : unsigned char { unused, queued, got, removed, rejected };

/// Totals over all seeds, to prove that the seeds exercise every path.
struct coverage {
    long got = 0;
    long removed = 0;
    long rejected = 0;
    long cancels = 0;
    long cancelled_puts = 0;
    long cancelled_gets = 0;
    long cancelled_joins = 0;
    long joins_waited = 0;
    long joins_at_once = 0;
    long idle_checks = 0;
    long snipes = 0;
};

/// What the model knows about one producer, consumer or joiner task.
struct actor {
    asyncio::task_ref ref;
    bool cancel_pending = false; // cancel() accepted while suspended, not yet delivered
    bool joining = false;        // inside co_await q.join()
    bool in_get = false;         // inside co_await q.get()
    bool in_put = false;         // inside co_await q.put(x)
    bool woken = false;          // the unfinished count reached 0 while it was joining
    asyncio::loop_clock::time_point woken_at{};
    int generation = 0; // one per put, get or join call
    int hop_mark = -1;  // set by a call_soon callback queued just before that call
};

/// The model: what the queue must hold, the fate of every item, the unfinished count.
struct world {
    explicit world(std::uint32_t seed) : rng(seed) {}

    std::mt19937 rng;
    order kind = order::fifo;
    std::ptrdiff_t maxsize = 0;
    std::vector<std::pair<int, int>> content; // (prio, id) in insertion order
    std::vector<fate> fates;
    long unfinished = 0;
    bool shut_down = false;
    std::vector<actor> actors;
    std::string failure;
    coverage* cov = nullptr;
    int snipes_left = 3;

    int rand(int lo, int hi) { return asyncio::testing::draw(rng, lo, hi); }
    bool coin() { return rand(0, 1) == 0; }

    void fail(const std::string& msg) {
        if (failure.empty()) {
            failure = msg;
        }
    }

    int new_id() {
        fates.push_back(fate::unused);
        return static_cast<int>(fates.size()) - 1;
    }

    [[nodiscard]] bool model_full() const {
        return maxsize > 0 && content.size() >= static_cast<std::size_t>(maxsize);
    }

    void on_put(int prio, int id) {
        if (fates[static_cast<std::size_t>(id)] != fate::unused) {
            fail("item " + std::to_string(id) + " put twice");
        }
        fates[static_cast<std::size_t>(id)] = fate::queued;
        content.emplace_back(prio, id);
        ++unfinished;
    }

    [[nodiscard]] std::size_t expected_index() const {
        switch (kind) {
        case order::fifo:
            return 0;
        case order::lifo:
            return content.size() - 1;
        case order::priority:
            break;
        }
        std::size_t best = 0;
        for (std::size_t i = 1; i < content.size(); ++i) {
            if (content[i].first < content[best].first) {
                best = i;
            }
        }
        return best;
    }

    void on_got(const item& it) {
        if (content.empty()) {
            fail("got item " + std::to_string(it.id) + " from an empty model");
            return;
        }
        const std::size_t i = expected_index();
        if (it.id != content[i].second) {
            fail("got item " + std::to_string(it.id) + ", expected " +
                 std::to_string(content[i].second));
        }
        if (it.life.value != it.id || it.life.moved_from) {
            fail("item " + std::to_string(it.id) + " arrived damaged");
        }
        if (it.id < 0 || static_cast<std::size_t>(it.id) >= fates.size() ||
            fates[static_cast<std::size_t>(it.id)] != fate::queued) {
            fail("item " + std::to_string(it.id) + " got twice or never put");
            return;
        }
        fates[static_cast<std::size_t>(it.id)] = fate::got;
        for (auto p = content.begin(); p != content.end(); ++p) {
            if (p->second == it.id) {
                content.erase(p);
                break;
            }
        }
    }

    // The unfinished count reached 0: every joiner waiting now must return in the next
    // iteration. The late check is queued after the joiners' wake-ups (task_done or shutdown
    // queued them before this runs), so it runs after them.
    void zero_event() {
        auto& loop = asyncio::get_running_loop();
        for (std::size_t idx = 0; idx < actors.size(); ++idx) {
            actor& a = actors[idx];
            if (a.joining && !a.woken) {
                a.woken = true;
                a.woken_at = loop.time();
                const int gen = a.generation;
                static_cast<void>(loop.call_soon([this, idx, gen] {
                    const actor& b = actors[idx];
                    if (b.joining && b.generation == gen) {
                        fail("a joiner did not return in the iteration after the unfinished "
                             "count reached 0");
                    }
                }));
            }
        }
    }

    void on_task_done() {
        --unfinished;
        if (unfinished < 0) {
            fail("the model's unfinished count went below 0");
        }
        if (unfinished == 0) {
            zero_event();
        }
    }

    void on_shutdown(bool immediate) {
        shut_down = true;
        if (immediate) {
            for (const auto& c : content) {
                fates[static_cast<std::size_t>(c.second)] = fate::removed;
            }
            unfinished -= static_cast<long>(content.size());
            content.clear();
            if (unfinished == 0) {
                zero_event();
            }
        }
    }

    void cancel(std::size_t idx) {
        actor& a = actors[idx];
        if (a.ref && !a.ref.done() && a.ref.cancel()) {
            a.cancel_pending = true;
            ++cov->cancels;
        }
    }

    // Called by the task that just put or got an item, so in the same iteration as the wake-up it
    // caused and before the woken task runs: now and then it cancels a getter while the queue holds
    // items, a putter while there is room or a joiner while nothing is unfinished. Outside idle
    // points such a task has been woken (or waits behind one that has): the case where a cancelled
    // waiter must pass its wake-up on.
    void maybe_snipe() {
        if (snipes_left == 0 || rand(0, 3) != 0) {
            return;
        }
        std::vector<std::size_t> found;
        for (std::size_t k = 0; k < actors.size(); ++k) {
            const actor& c = actors[k];
            if ((c.in_get && !content.empty()) || (c.in_put && !model_full()) ||
                (c.joining && unfinished == 0)) {
                found.push_back(k);
            }
        }
        if (!found.empty()) {
            --snipes_left;
            ++cov->snipes;
            cancel(found[static_cast<std::size_t>(rand(0, static_cast<int>(found.size()) - 1))]);
        }
    }

    // Queues a callback that runs before the actor resumes if and only if its next co_await
    // suspends; `suspended(idx, gen)` tells afterwards.
    int arm_marker(std::size_t idx) {
        const int gen = ++actors[idx].generation;
        static_cast<void>(asyncio::get_running_loop().call_soon(
            [this, idx, gen] { actors[idx].hop_mark = gen; }));
        return gen;
    }

    [[nodiscard]] bool suspended(std::size_t idx, int gen) const {
        return actors[idx].hop_mark == gen;
    }

    // put and get proceed without suspending exactly when the queue allows it at the call
    // (asyncio: `while full()` / `while empty()`; a shut-down queue raises at once).
    void check_suspension(std::size_t idx, int gen, bool could_proceed, const char* what) {
        if (could_proceed && suspended(idx, gen)) {
            fail(std::string(what) + " suspended although it could proceed at once");
        }
        if (!could_proceed && !suspended(idx, gen)) {
            fail(std::string(what) + " did not suspend although it had to wait");
        }
    }

    // An await returned normally: it must not have swallowed a cancel request made while the
    // task was suspended in it (asyncio delivers CancelledError at that await).
    void resumed(std::size_t idx, const char* where) {
        if (actors[idx].cancel_pending) {
            fail(std::string(where) +
                 " returned normally although the task was cancelled while suspended in it");
        }
    }

    // A cancelled_error arrived at `where`. Returns false when nobody asked for it (asyncio::run
    // cancelling what is left after a failure, for instance): the actor must then stop, or a task
    // that swallows every cancellation would keep run from returning.
    bool cancelled_at(std::size_t idx, const char* where) {
        const std::string w = where;
        cov->cancelled_puts += w == "put" ? 1 : 0;
        cov->cancelled_gets += w == "get" ? 1 : 0;
        cov->cancelled_joins += w == "join" ? 1 : 0;
        if (!actors[idx].cancel_pending) {
            fail(std::string("cancelled_error at ") + where + " without a cancel request");
            return false;
        }
        actors[idx].cancel_pending = false;
        return true;
    }

    // Called when no callback is ready: every wake-up already delivered is in the ready queue, so
    // a task still waiting now waits for good (until the next event). A getter may not wait
    // while the queue holds items or is shut down, a putter while there is room or it is shut
    // down, a joiner while nothing is unfinished: each would be a lost wake-up.
    void check_idle() {
        ++cov->idle_checks;
        for (const actor& a : actors) {
            if (a.in_get && (!content.empty() || shut_down)) {
                fail("a getter is left waiting while the queue holds items or is shut down");
            }
            if (a.in_put && (!model_full() || shut_down)) {
                fail("a putter is left waiting while the queue has room or is shut down");
            }
            if (a.joining && unfinished == 0) {
                fail("a joiner is left waiting while nothing is unfinished");
            }
        }
    }
};

template <class Q> void check_size(const Q* q, world* w, const char* where) {
    if (q->qsize() != w->content.size()) {
        w->fail(std::string(where) + ": qsize " + std::to_string(q->qsize()) + ", model " +
                std::to_string(w->content.size()));
    }
    if (q->full() != w->model_full()) {
        w->fail(std::string(where) + ": full() disagrees with the model");
    }
    if (q->empty() != w->content.empty()) {
        w->fail(std::string(where) + ": empty() disagrees with the model");
    }
    if (q->is_shut_down() != w->shut_down) {
        w->fail(std::string(where) + ": is_shut_down() disagrees with the model");
    }
}

// Sleeps lo..hi ms (0: one yield). Returns false when cancelled and the actor chose to stop.
asyncio::task<bool> pause(world* w, std::size_t idx, int lo, int hi) {
    bool cancelled = false;
    try {
        co_await asyncio::sleep(std::chrono::milliseconds(w->rand(lo, hi)));
    } catch (const asyncio::cancelled_error&) {
        cancelled = true;
    }
    if (!cancelled) {
        w->resumed(idx, "sleep");
        co_return true;
    }
    co_return w->cancelled_at(idx, "sleep") && w->coin();
}

template <class Q> asyncio::task<void> producer(Q* q, world* w, std::size_t idx, int count) {
    for (int n = 0; n < count; ++n) {
        const int id = w->new_id();
        const int prio = w->rand(0, 2);
        const auto slot = static_cast<std::size_t>(id);
        item it{prio, id, tracked(id)};
        bool stop = false;
        if (w->rand(0, 3) == 0) {
            try {
                q->put_nowait(std::move(it));
                w->on_put(prio, id);
            } catch (const asyncio::queue_full&) {
                if (w->shut_down || !w->model_full()) {
                    w->fail("put_nowait raised queue_full with room or after shutdown");
                }
                w->fates[slot] = fate::rejected;
            } catch (const asyncio::queue_shut_down&) {
                if (!w->shut_down) {
                    w->fail("put_nowait raised queue_shut_down before shutdown");
                }
                w->fates[slot] = fate::rejected;
                stop = true;
            }
        } else {
            bool ok = false;
            bool cancelled = false;
            const bool could_proceed = !w->model_full() || w->shut_down;
            const int gen = w->arm_marker(idx);
            w->actors[idx].in_put = true;
            try {
                co_await q->put(std::move(it));
                ok = true;
            } catch (const asyncio::cancelled_error&) {
                cancelled = true;
            } catch (const asyncio::queue_shut_down&) {
                if (!w->shut_down) {
                    w->fail("put raised queue_shut_down before shutdown");
                }
                stop = true;
            }
            w->actors[idx].in_put = false;
            if (!cancelled) {
                w->check_suspension(idx, gen, could_proceed, "put");
            }
            if (ok) {
                w->resumed(idx, "put");
                w->on_put(prio, id);
            } else {
                w->fates[slot] = fate::rejected; // a cancelled put never inserts its item
                if (cancelled) {
                    stop = !w->cancelled_at(idx, "put") || w->coin();
                }
            }
        }
        check_size(q, w, "after a put");
        w->maybe_snipe();
        if (stop) {
            co_return;
        }
        if (!co_await pause(w, idx, 0, 3)) {
            co_return;
        }
    }
}

template <class Q> asyncio::task<void> consumer(Q* q, world* w, std::size_t idx) {
    for (;;) {
        std::optional<item> got;
        bool stop = false;
        if (w->rand(0, 3) == 0) {
            try {
                got.emplace(q->get_nowait());
            } catch (const asyncio::queue_empty&) {
                if (!w->content.empty() || w->shut_down) {
                    w->fail("get_nowait raised queue_empty with items or after shutdown");
                }
            } catch (const asyncio::queue_shut_down&) {
                if (!w->content.empty() || !w->shut_down) {
                    w->fail("get_nowait raised queue_shut_down with items or before shutdown");
                }
                stop = true;
            }
        } else {
            bool cancelled = false;
            const bool could_proceed = !w->content.empty() || w->shut_down;
            const int gen = w->arm_marker(idx);
            w->actors[idx].in_get = true;
            try {
                got.emplace(co_await q->get());
            } catch (const asyncio::cancelled_error&) {
                cancelled = true;
            } catch (const asyncio::queue_shut_down&) {
                if (!w->content.empty() || !w->shut_down) {
                    w->fail("get raised queue_shut_down with items or before shutdown");
                }
                stop = true;
            }
            w->actors[idx].in_get = false;
            if (!cancelled) {
                w->check_suspension(idx, gen, could_proceed, "get");
            }
            if (cancelled) {
                stop = !w->cancelled_at(idx, "get") || w->coin();
            } else if (!stop) {
                w->resumed(idx, "get");
            }
        }
        if (got) {
            w->on_got(*got);
        }
        check_size(q, w, "after a get");
        if (got) {
            w->maybe_snipe();
            // Processing, which may be cancelled: the item is marked done whatever happens.
            const int ms = w->rand(0, 2);
            bool cancelled = false;
            if (ms > 0 || w->coin()) {
                try {
                    co_await asyncio::sleep(std::chrono::milliseconds(ms));
                } catch (const asyncio::cancelled_error&) {
                    cancelled = true;
                }
                if (cancelled) {
                    stop = !w->cancelled_at(idx, "processing");
                } else {
                    w->resumed(idx, "processing");
                }
            }
            got.reset();
            try {
                q->task_done();
                w->on_task_done();
            } catch (const std::invalid_argument&) {
                w->fail("task_done raised for an item that was got");
            }
            w->maybe_snipe();
            if (cancelled && w->coin()) {
                stop = true;
            }
        } else if (!stop) {
            // At least 1 ms: a consumer polling with get_nowait must let virtual time advance.
            stop = !co_await pause(w, idx, 1, 3);
        }
        if (stop) {
            co_return;
        }
    }
}

template <class Q> asyncio::task<void> joiner(Q* q, world* w, std::size_t idx, int rounds) {
    auto& loop = asyncio::get_running_loop();
    for (int r = 0; r < rounds; ++r) {
        if (!co_await pause(w, idx, 0, 10)) {
            co_return;
        }
        const long unfinished_at_call = w->unfinished;
        const int gen = w->arm_marker(idx);
        actor& a = w->actors[idx];
        a.joining = true;
        a.woken = false;
        bool cancelled = false;
        try {
            co_await q->join();
        } catch (const asyncio::cancelled_error&) {
            cancelled = true;
        }
        actor& b = w->actors[idx];
        b.joining = false;
        if (cancelled) {
            if (!w->cancelled_at(idx, "join") || w->coin()) {
                co_return;
            }
            continue;
        }
        w->resumed(idx, "join");
        const bool suspended = w->suspended(idx, gen);
        ++(suspended ? w->cov->joins_waited : w->cov->joins_at_once);
        if (unfinished_at_call == 0) {
            if (suspended) {
                w->fail("join suspended although nothing was unfinished");
            }
        } else if (!suspended) {
            w->fail("join returned at once although items were unfinished");
        } else if (!b.woken) {
            w->fail("join returned before the unfinished count reached 0");
        } else if (loop.time() != b.woken_at) {
            w->fail("join returned later than the count reaching 0");
        }
    }
}

// Checks the idle invariants at every point where the loop runs out of ready callbacks, until
// 200 ms of virtual time (so that a deadlock is still reported). While other callbacks are ready
// it re-queues itself with call_soon; once it is the only one, it checks and waits 1 ms.
void arm_idle_probe(world* w, bool soon) {
    auto probe = [w] {
        auto& loop = asyncio::get_running_loop();
        if (loop.time().time_since_epoch() >= 200ms) {
            return;
        }
        const bool idle = loop.ready_size() == 0;
        if (idle) {
            w->check_idle();
        }
        arm_idle_probe(w, !idle);
    };
    auto& loop = asyncio::get_running_loop();
    if (soon) {
        static_cast<void>(loop.call_soon(probe));
    } else {
        static_cast<void>(loop.call_later(1ms, probe));
    }
}

// Picks a random index among the actors for which `pred` holds; returns false when there is none.
template <class Pred> bool pick(world* w, Pred pred, std::size_t* out) {
    std::vector<std::size_t> found;
    for (std::size_t k = 0; k < w->actors.size(); ++k) {
        if (pred(w->actors[k])) {
            found.push_back(k);
        }
    }
    if (found.empty()) {
        return false;
    }
    *out = found[static_cast<std::size_t>(w->rand(0, static_cast<int>(found.size()) - 1))];
    return true;
}

// Cancels `count` times at random virtual times, three times in four a task suspended in put,
// get or join.
asyncio::task<void> canceller(world* w, int count) {
    for (int i = 0; i < count; ++i) {
        co_await asyncio::sleep(std::chrono::milliseconds(w->rand(0, 12)));
        std::size_t idx = 0;
        if (w->rand(0, 3) == 0 ||
            !pick(w, [](const actor& c) { return c.in_get || c.in_put || c.joining; }, &idx)) {
            idx = static_cast<std::size_t>(w->rand(0, static_cast<int>(w->actors.size()) - 1));
        }
        w->cancel(idx);
    }
}

template <class Q> asyncio::task<void> shutter(Q* q, world* w, int at_ms, bool immediate) {
    co_await asyncio::sleep(std::chrono::milliseconds(at_ms));
    q->shutdown(immediate);
    w->on_shutdown(immediate);
    check_size(q, w, "after shutdown");
}

asyncio::task<void> settle(world* w, asyncio::task_handle<void> h) {
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        // a cancelled actor: fine
    } catch (const std::exception& e) {
        w->fail(std::string("a task failed: ") + e.what());
    }
}

template <class Q> asyncio::task<void> random_main(Q* q, world* w) {
    const int producers = w->rand(2, 4);
    const int consumers = w->rand(0, 3);
    const int joiners = w->rand(0, 2);
    const auto total = static_cast<std::size_t>(producers + consumers + joiners);
    w->actors.resize(total); // never resized again: tasks hold indices
    std::vector<asyncio::task_handle<void>> hs;
    for (std::size_t i = 0; i < total; ++i) {
        const int k = static_cast<int>(i);
        if (k < producers) {
            hs.push_back(asyncio::create_task(producer(q, w, i, w->rand(1, 8))));
        } else if (k < producers + consumers) {
            hs.push_back(asyncio::create_task(consumer(q, w, i)));
        } else {
            hs.push_back(asyncio::create_task(joiner(q, w, i, w->rand(1, 3))));
        }
        w->actors[i].ref = hs.back();
    }
    arm_idle_probe(w, false);
    std::vector<asyncio::task_handle<void>> others;
    others.push_back(asyncio::create_task(canceller(w, w->rand(0, 5))));
    if (w->rand(0, 2) == 0) {
        const int at = w->rand(0, 70);
        others.push_back(asyncio::create_task(shutter(q, w, at, w->coin())));
    }

    co_await asyncio::sleep(80ms);
    // Producers and consumers all end once the queue is shut down.
    const bool immediate = w->coin();
    q->shutdown(immediate);
    w->on_shutdown(immediate);
    check_size(q, w, "after the final shutdown");
    const auto workers = static_cast<std::size_t>(producers + consumers);
    for (std::size_t i = 0; i < workers; ++i) {
        co_await settle(w, hs[i]);
    }
    // What no consumer took (all of them may have been cancelled) is got here.
    for (;;) {
        std::optional<item> it;
        try {
            it.emplace(q->get_nowait());
        } catch (const asyncio::queue_shut_down&) {
            break;
        } catch (const asyncio::queue_empty&) {
            w->fail("get_nowait raised queue_empty on a shut-down queue");
            break;
        }
        w->on_got(*it);
        q->task_done();
        w->on_task_done();
    }
    for (std::size_t i = workers; i < hs.size(); ++i) {
        co_await settle(w, hs[i]);
    }
    for (auto& h : others) {
        co_await settle(w, h);
    }

    for (const auto& h : hs) {
        if (!h.done()) {
            w->fail("an actor did not finish");
        }
    }
    for (const auto& h : others) {
        if (!h.done()) {
            w->fail("a helper task did not finish");
        }
    }
    if (w->unfinished != 0) {
        w->fail("the model still counts unfinished items at the end");
    }
    check_size(q, w, "at the end");
    try {
        q->task_done();
        w->fail("task_done accepted with nothing unfinished");
    } catch (const std::invalid_argument&) {
    }
    for (std::size_t id = 0; id < w->fates.size(); ++id) {
        const fate f = w->fates[id];
        if (f == fate::queued || f == fate::unused) {
            w->fail("item " + std::to_string(id) + " was neither got, removed nor rejected");
        }
        w->cov->got += f == fate::got ? 1 : 0;
        w->cov->removed += f == fate::removed ? 1 : 0;
        w->cov->rejected += f == fate::rejected ? 1 : 0;
    }
}

template <class Q> std::string run_seed(world* w) {
    std::string error;
    {
        Q q(w->maxsize);
        try {
            run_virtual(random_main(&q, w));
        } catch (const std::exception& e) {
            error = e.what();
        } catch (...) {
            error = "a non-standard exception left run";
        }
    } // the queue is destroyed here: every item must be gone with it
    if (error.empty()) {
        error = w->failure;
    }
    if (error.empty() && !lifetime_scope::balanced()) {
        error = "tracked items were not destroyed exactly once";
    }
    return error;
}

TEST_CASE("queue: random producers, consumers, joiners, cancellations and shutdowns keep every "
          "item accounted for") {
    coverage cov;
    for (std::uint32_t seed = 0; seed < seed_count; ++seed) {
        const lifetime_scope scope;
        world w(seed);
        w.cov = &cov;
        w.kind = static_cast<order>(w.rand(0, 2));
        w.maxsize = w.rand(0, 4);
        std::string error;
        switch (w.kind) {
        case order::fifo:
            error = run_seed<asyncio::queue<item>>(&w);
            break;
        case order::lifo:
            error = run_seed<asyncio::lifo_queue<item>>(&w);
            break;
        case order::priority:
            error = run_seed<asyncio::priority_queue<item, by_prio>>(&w);
            break;
        }
        if (!error.empty()) {
            INFO("seed " << seed << ", kind " << static_cast<int>(w.kind) << ", maxsize "
                         << w.maxsize);
            INFO(error);
            REQUIRE(error.empty());
        }
    }
    // Every path was taken by many seeds (the actual counts, in the INFO below, are several times
    // these bounds).
    INFO("got " << cov.got << ", removed " << cov.removed << ", rejected " << cov.rejected
                << ", cancels " << cov.cancels << " (puts " << cov.cancelled_puts << ", gets "
                << cov.cancelled_gets << ", joins " << cov.cancelled_joins << "), joins waited "
                << cov.joins_waited << ", at once " << cov.joins_at_once << ", idle checks "
                << cov.idle_checks << ", snipes " << cov.snipes);
    CHECK(cov.got > 5000);
    CHECK(cov.removed > 500);
    CHECK(cov.rejected > 500);
    CHECK(cov.cancelled_puts > 250);
    CHECK(cov.cancelled_gets > 250);
    CHECK(cov.cancelled_joins > 100);
    CHECK(cov.joins_waited > 500);
    CHECK(cov.joins_at_once > 500);
    CHECK(cov.idle_checks > 50000);
    CHECK(cov.snipes > 500);
}

} // namespace
