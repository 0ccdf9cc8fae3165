// SPDX-License-Identifier: MIT
// Tests for queue.hpp: queue, lifo_queue and priority_queue against asyncio.Queue, section 5.
//
// Each rule of asyncio-semantics.md section 5 has its own test, run on the virtual clock.
// Expected behaviour was checked against CPython 3.13.0 with the twin script queue_test.py, kept
// outside the repo; its output is quoted in the `//` comments ("py:"). Iteration counts come from
// the ticker of support/ticker.hpp, started the same way as in the twin (ticks == 2 on return of
// start_ticker), under a watchdog so that a broken queue fails a test instead of hanging it.

#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::lifetime_counter;
using asyncio::testing::lifetime_scope;
using asyncio::testing::run_virtual;
using asyncio::testing::start_ticker;
using asyncio::testing::stop_ticker;
using asyncio::testing::ticker_state;
using asyncio::testing::tracked;

namespace {

using string_queue = asyncio::queue<std::string>;
using string_log = std::vector<std::string>;
using tick_log = std::vector<std::pair<std::string, int>>;

// The ticker keeps the loop busy, so a wait that a broken queue never ends would spin forever. A
// watchdog stops it after 1000 iterations: the loop then finds nothing to run, run() reports a
// deadlock, and the test fails instead of hanging. It does not change the ticks counted.
struct guarded_ticker {
    asyncio::task_handle<void> ticker;
    asyncio::task_handle<void> guard;
};

asyncio::task<void> watchdog(ticker_state* ts, int limit) {
    for (int i = 0; i < limit && !ts->stop; ++i) {
        co_await asyncio::sleep(0ms);
    }
    ts->stop = true;
}

asyncio::task<guarded_ticker> start_guarded_ticker(ticker_state* ts) {
    auto guard = asyncio::create_task(watchdog(ts, 1000));
    auto tk = co_await start_ticker(ts);
    co_return guarded_ticker{tk, guard};
}

asyncio::task<void> stop_guarded_ticker(ticker_state* ts, guarded_ticker g) {
    co_await stop_ticker(ts, g.ticker);
    co_await g.guard;
}

int ticks_of(const ticker_state* ts) {
    return ts != nullptr ? ts->ticks : -1;
}

asyncio::task<void> getter(string_queue* q, std::string name, string_log* log) {
    const std::string v = co_await q->get();
    log->push_back(name + "->" + v);
}

asyncio::task<void> putter(string_queue* q, std::string v, string_log* log) {
    co_await q->put(v);
    log->push_back("put " + v);
}

asyncio::task<void> joiner(string_queue* q, std::string name, const ticker_state* ts,
                           tick_log* log) {
    co_await q->join();
    log->emplace_back(name, ticks_of(ts));
}

// A put that records queue_shut_down instead of failing.
asyncio::task<void> catching_put(string_queue* q, std::string v, string_log* log) {
    bool raised = false;
    try {
        co_await q->put(v);
    } catch (const asyncio::queue_shut_down&) {
        raised = true;
    }
    log->push_back(raised ? "put " + v + " raised" : "put " + v);
}

// A get that records queue_shut_down (and the tick it arrived at) instead of failing.
asyncio::task<void> catching_get(string_queue* q, std::string name, const ticker_state* ts,
                                 string_log* log) {
    std::string v;
    bool raised = false;
    try {
        v = co_await q->get();
    } catch (const asyncio::queue_shut_down&) {
        raised = true;
    }
    log->push_back(raised ? name + " raised at " + std::to_string(ticks_of(ts)) : name + "->" + v);
}

// ---- size, maxsize and the nowait operations ---------------------------------------------------

TEST_CASE("queue: a maxsize of 0 or below makes the queue unbounded and full() always false") {
    // py: "unbounded maxsize 0 full False", "unbounded after 100 puts: qsize 100 full False",
    //     "maxsize -3: maxsize -3 qsize 10 full False"
    asyncio::queue<int> unbounded;
    REQUIRE(unbounded.maxsize() == 0);
    REQUIRE_FALSE(unbounded.full());
    for (int i = 0; i < 100; ++i) {
        unbounded.put_nowait(i);
    }
    REQUIRE(unbounded.qsize() == 100U);
    REQUIRE_FALSE(unbounded.full());

    asyncio::queue<int> negative(-3);
    REQUIRE(negative.maxsize() == -3);
    for (int i = 0; i < 10; ++i) {
        negative.put_nowait(i);
    }
    REQUIRE(negative.qsize() == 10U);
    REQUIRE_FALSE(negative.full());
}

TEST_CASE("queue: full() is true once qsize reaches maxsize") {
    // py: "maxsize 2 new: empty True full False qsize 0", "1 item: empty False full False",
    //     "2 items: empty False full True"
    string_queue q(2);
    REQUIRE(q.maxsize() == 2);
    REQUIRE(q.empty());
    REQUIRE_FALSE(q.full());
    REQUIRE(q.qsize() == 0U);
    q.put_nowait("a");
    REQUIRE_FALSE(q.empty());
    REQUIRE_FALSE(q.full());
    REQUIRE(q.qsize() == 1U);
    q.put_nowait("b");
    REQUIRE_FALSE(q.empty());
    REQUIRE(q.full());
    REQUIRE(q.qsize() == 2U);
    REQUIRE(q.get_nowait() == "a");
    REQUIRE_FALSE(q.full());
    REQUIRE(q.qsize() == 1U);
    REQUIRE_FALSE(q.is_shut_down());
}

TEST_CASE("queue: put_nowait on a full queue raises queue_full") {
    // py: "put_nowait on full: QueueFull()"
    string_queue q(2);
    q.put_nowait("a");
    q.put_nowait("b");
    REQUIRE_THROWS_AS(q.put_nowait("c"), asyncio::queue_full);
    REQUIRE(q.qsize() == 2U); // the rejected item was not inserted
    REQUIRE(q.get_nowait() == "a");
    REQUIRE(q.get_nowait() == "b");
}

TEST_CASE("queue: get_nowait on an empty queue raises queue_empty") {
    // py: "a b", "get_nowait on empty: QueueEmpty()"
    string_queue q;
    REQUIRE_THROWS_AS(q.get_nowait(), asyncio::queue_empty);
    q.put_nowait("a");
    REQUIRE(q.get_nowait() == "a");
    REQUIRE_THROWS_AS(q.get_nowait(), asyncio::queue_empty);
    REQUIRE(q.empty());
}

// ---- put and get proceed at once when they can -----------------------------------------------

struct immediate_probe {
    int before_put = -1;
    int after_put = -1;
    int after_get = -1;
    std::string got;
};

asyncio::task<void> immediate_main(ticker_state* ts, immediate_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q(1);
    p->before_put = ts->ticks;
    co_await q.put("x");
    p->after_put = ts->ticks;
    p->got = co_await q.get();
    p->after_get = ts->ticks;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: put with room and get with an item do not suspend") {
    // py: "put on non-full: ticks 2 2", "get on non-empty: ticks 2 2 x"
    ticker_state ts;
    immediate_probe p;
    run_virtual(immediate_main(&ts, &p));
    REQUIRE(p.before_put == 2);
    REQUIRE(p.after_put == 2);
    REQUIRE(p.after_get == 2);
    REQUIRE(p.got == "x");
}

struct barge_get_probe {
    int before = -1;
    int after = -1;
    std::string got;
    string_log log;
};

asyncio::task<void> get_with_woken_getter_main(ticker_state* ts, barge_get_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q(1);
    auto g = asyncio::create_task(getter(&q, "g0", &p->log));
    co_await asyncio::sleep(0ms);
    q.put_nowait("a"); // wakes g0, which has not run yet
    p->before = ts->ticks;
    p->got = co_await q.get();
    p->after = ts->ticks;
    q.put_nowait("b");
    co_await g;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: get does not suspend when an item is there even with a woken getter waiting") {
    // py: "get with a woken getter waiting: ticks 3 3 main got a", "log ['g0->b']"
    ticker_state ts;
    barge_get_probe p;
    run_virtual(get_with_woken_getter_main(&ts, &p));
    REQUIRE(p.before == 3);
    REQUIRE(p.after == 3);
    REQUIRE(p.got == "a");
    REQUIRE(p.log == string_log{"g0->b"});
}

struct barge_put_probe {
    int before = -1;
    int after = -1;
    std::size_t size_after_put = 99;
    bool p0_done_after_hop = true;
    std::string first;
    std::string taken;
    string_log log_after_second_hop;
    std::string second;
    std::string left;
    string_log log;
};

asyncio::task<void> put_with_waiting_putters_main(ticker_state* ts, barge_put_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q(1);
    q.put_nowait("p");
    auto p0 = asyncio::create_task(putter(&q, "p0", &p->log));
    auto p1 = asyncio::create_task(putter(&q, "p1", &p->log));
    co_await asyncio::sleep(0ms);
    p->first = q.get_nowait(); // wakes p0, which has not run yet; p1 still waits
    p->before = ts->ticks;
    co_await q.put("main");
    p->after = ts->ticks;
    p->size_after_put = q.qsize();
    co_await asyncio::sleep(0ms); // p0 runs, finds the queue full and waits again behind p1
    p->p0_done_after_hop = p0.done();
    p->taken = q.get_nowait(); // wakes p1
    co_await asyncio::sleep(0ms);
    p->log_after_second_hop = p->log;
    p->second = q.get_nowait(); // wakes p0
    co_await p0;
    co_await p1;
    p->left = q.get_nowait();
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: put does not suspend when there is room even with putters waiting") {
    // py: "first p", "put with a woken putter and a waiting putter: ticks 3 3 qsize 1",
    //     "after a hop: p0 done? False items ['main']", "main took main", "after a hop:
    //     ['put p1'] items ['p1']", "took p1", "log ['put p1', 'put p0'] items ['p0']"
    ticker_state ts;
    barge_put_probe p;
    run_virtual(put_with_waiting_putters_main(&ts, &p));
    REQUIRE(p.first == "p");
    REQUIRE(p.before == 3);
    REQUIRE(p.after == 3);
    REQUIRE(p.size_after_put == 1U);
    REQUIRE_FALSE(p.p0_done_after_hop);
    REQUIRE(p.taken == "main");
    REQUIRE(p.log_after_second_hop == string_log{"put p1"});
    REQUIRE(p.second == "p1");
    REQUIRE(p.log == string_log{"put p1", "put p0"}); // p0 lost its place to p1
    REQUIRE(p.left == "p0");
}

// ---- wake-up order and the absence of hand-off -----------------------------------------------

asyncio::task<void> fifo_waiters_main(string_log* log) {
    string_queue q;
    std::vector<asyncio::task_handle<void>> gs;
    for (int i = 0; i < 3; ++i) {
        gs.push_back(asyncio::create_task(getter(&q, "g" + std::to_string(i), log)));
    }
    co_await asyncio::sleep(0ms);
    q.put_nowait("a");
    q.put_nowait("b");
    q.put_nowait("c");
    for (auto& g : gs) {
        co_await g;
    }
}

TEST_CASE("queue: waiting getters receive successive items in the order they waited") {
    // py: "fifo waiters ['g0->a', 'g1->b', 'g2->c']"
    string_log log;
    run_virtual(fifo_waiters_main(&log));
    REQUIRE(log == string_log{"g0->a", "g1->b", "g2->c"});
}

struct barging_probe {
    string_log log;
    string_log after_one_hop;
    bool g0_done_after_one_hop = true;
};

asyncio::task<void> barging_main(barging_probe* p) {
    string_queue q;
    auto g0 = asyncio::create_task(getter(&q, "g0", &p->log));
    auto g1 = asyncio::create_task(getter(&q, "g1", &p->log));
    co_await asyncio::sleep(0ms);
    // The barger's first step is queued before the wake-up of g0, so it runs first and finds
    // the item: g0 re-checks, finds the queue empty and waits again behind g1.
    auto barger = asyncio::create_task(getter(&q, "barger", &p->log));
    q.put_nowait("a");
    co_await asyncio::sleep(0ms);
    p->after_one_hop = p->log;
    p->g0_done_after_one_hop = g0.done();
    q.put_nowait("b"); // wakes g1: g0 lost its place
    co_await asyncio::sleep(0ms);
    q.put_nowait("c");
    co_await g0;
    co_await g1;
    co_await barger;
}

TEST_CASE("queue: a wake-up is not a hand-off and the woken getter that lost waits at the back") {
    // py: "after one hop: ['barger->a'] getters waiting 2", "barging ['barger->a', 'g1->b',
    //     'g0->c']"
    barging_probe p;
    run_virtual(barging_main(&p));
    REQUIRE(p.after_one_hop == string_log{"barger->a"});
    REQUIRE_FALSE(p.g0_done_after_one_hop);
    REQUIRE(p.log == string_log{"barger->a", "g1->b", "g0->c"});
}

// ---- hops --------------------------------------------------------------------------------------

asyncio::task<void> stamp_get(string_queue* q, const ticker_state* ts, int* tick,
                              std::string* got) {
    *got = co_await q->get();
    *tick = ts->ticks;
}

asyncio::task<void> stamp_put(string_queue* q, std::string v, const ticker_state* ts, int* tick) {
    co_await q->put(v);
    *tick = ts->ticks;
}

struct hop_probe {
    int cause = -1;
    int effect = -1;
    std::string got;
    std::size_t size = 99;
};

asyncio::task<void> get_hop_main(ticker_state* ts, hop_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q(1);
    auto g = asyncio::create_task(stamp_get(&q, ts, &p->effect, &p->got));
    co_await asyncio::sleep(0ms);
    p->cause = ts->ticks;
    q.put_nowait("x");
    co_await g;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: a waiting getter resumes one iteration after put_nowait") {
    // py: "get resumes after put_nowait: cause 3 effect 4"
    ticker_state ts;
    hop_probe p;
    run_virtual(get_hop_main(&ts, &p));
    REQUIRE(p.got == "x");
    REQUIRE(p.cause == 3);
    REQUIRE(p.effect == 4);
}

asyncio::task<void> put_hop_main(ticker_state* ts, hop_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q(1);
    q.put_nowait("full");
    auto pt = asyncio::create_task(stamp_put(&q, "y", ts, &p->effect));
    co_await asyncio::sleep(0ms);
    p->cause = ts->ticks;
    p->got = q.get_nowait();
    co_await pt;
    p->size = q.qsize();
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: a waiting putter resumes one iteration after get_nowait") {
    // py: "put resumes after get_nowait: cause 3 effect 4"
    ticker_state ts;
    hop_probe p;
    run_virtual(put_hop_main(&ts, &p));
    REQUIRE(p.got == "full");
    REQUIRE(p.cause == 3);
    REQUIRE(p.effect == 4);
    REQUIRE(p.size == 1U);
}

// ---- cancellation safety -----------------------------------------------------------------------

struct cancel_probe {
    string_log log;
    string_log log_mid;
    bool first_cancelled = false;
    std::size_t size_mid = 99;
    std::size_t size_after = 99;
    std::string got;
};

asyncio::task<void> cancel_waiting_getter_main(cancel_probe* p) {
    string_queue q;
    auto g0 = asyncio::create_task(getter(&q, "g0", &p->log));
    auto g1 = asyncio::create_task(getter(&q, "g1", &p->log));
    co_await asyncio::sleep(0ms);
    static_cast<void>(g0.cancel());
    co_await asyncio::sleep(0ms);
    p->first_cancelled = g0.cancelled();
    q.put_nowait("a"); // must wake g1: g0 left the waiters
    co_await g1;
    p->size_after = q.qsize();
}

TEST_CASE("queue: a getter cancelled while waiting takes no item and leaves the waiters") {
    // py: "cancelled waiting getter: g0 cancelled True getters 1", "log ['g1->a'] qsize 0"
    cancel_probe p;
    run_virtual(cancel_waiting_getter_main(&p));
    REQUIRE(p.first_cancelled);
    REQUIRE(p.log == string_log{"g1->a"});
    REQUIRE(p.size_after == 0U);
}

asyncio::task<void> cancel_woken_getter_main(cancel_probe* p) {
    string_queue q;
    auto g0 = asyncio::create_task(getter(&q, "g0", &p->log));
    auto g1 = asyncio::create_task(getter(&q, "g1", &p->log));
    co_await asyncio::sleep(0ms);
    q.put_nowait("a");              // wakes g0
    static_cast<void>(g0.cancel()); // before g0 runs
    co_await asyncio::sleep(0ms);
    p->first_cancelled = g0.cancelled();
    p->size_mid = q.qsize();
    p->log_mid = p->log;
    co_await g1; // g0 passed its wake-up on to g1
    p->size_after = q.qsize();
}

TEST_CASE("queue: a getter woken then cancelled before it runs leaves the item and passes on "
          "its wake-up") {
    // py: "woken getter cancelled: g0 cancelled True qsize 1 log []", "log ['g1->a'] qsize 0"
    cancel_probe p;
    run_virtual(cancel_woken_getter_main(&p));
    REQUIRE(p.first_cancelled);
    REQUIRE(p.size_mid == 1U);
    REQUIRE(p.log_mid.empty());
    REQUIRE(p.log == string_log{"g1->a"});
    REQUIRE(p.size_after == 0U);
}

asyncio::task<void> cancel_waiting_putter_main(cancel_probe* p) {
    string_queue q(1);
    q.put_nowait("x");
    auto p0 = asyncio::create_task(putter(&q, "p0", &p->log));
    auto p1 = asyncio::create_task(putter(&q, "p1", &p->log));
    co_await asyncio::sleep(0ms);
    static_cast<void>(p0.cancel());
    co_await asyncio::sleep(0ms);
    p->first_cancelled = p0.cancelled();
    p->size_mid = q.qsize();
    p->got = q.get_nowait(); // must wake p1: p0 left the waiters
    co_await p1;
    p->size_after = q.qsize();
    p->log_mid.push_back(q.get_nowait()); // what is left in the queue
}

TEST_CASE("queue: a putter cancelled while waiting inserts nothing and leaves the waiters") {
    // py: "cancelled waiting putter: p0 cancelled True putters 1 items ['x']", "get x",
    //     "log ['put p1'] items ['p1']"
    cancel_probe p;
    run_virtual(cancel_waiting_putter_main(&p));
    REQUIRE(p.first_cancelled);
    REQUIRE(p.size_mid == 1U);
    REQUIRE(p.got == "x");
    REQUIRE(p.log == string_log{"put p1"});
    REQUIRE(p.size_after == 1U);
    REQUIRE(p.log_mid == string_log{"p1"});
}

asyncio::task<void> cancel_woken_putter_main(cancel_probe* p) {
    string_queue q(1);
    q.put_nowait("x");
    auto p0 = asyncio::create_task(putter(&q, "p0", &p->log));
    auto p1 = asyncio::create_task(putter(&q, "p1", &p->log));
    co_await asyncio::sleep(0ms);
    p->got = q.get_nowait();        // wakes p0
    static_cast<void>(p0.cancel()); // before p0 runs
    co_await asyncio::sleep(0ms);
    p->first_cancelled = p0.cancelled();
    p->size_mid = q.qsize();
    p->log_mid = p->log;
    co_await p1; // p0 passed its wake-up on to p1
    p->size_after = q.qsize();
    p->log_mid.push_back(q.get_nowait());
}

TEST_CASE("queue: a putter woken then cancelled before it runs inserts nothing and passes on "
          "its wake-up") {
    // py: "get x", "woken putter cancelled: p0 cancelled True items [] log []",
    //     "log ['put p1'] items ['p1']"
    cancel_probe p;
    run_virtual(cancel_woken_putter_main(&p));
    REQUIRE(p.got == "x");
    REQUIRE(p.first_cancelled);
    REQUIRE(p.size_mid == 0U);
    REQUIRE(p.log == string_log{"put p1"});
    REQUIRE(p.size_after == 1U);
    REQUIRE(p.log_mid == string_log{"p1"}); // log_mid was empty after the hop, then got "p1"
}

// ---- task_done and join ------------------------------------------------------------------------

TEST_CASE("queue: task_done counts puts so put_nowait then task_done without get is legal") {
    // py: "put_nowait then task_done without get: ok"
    string_queue q;
    q.put_nowait("a");
    REQUIRE_NOTHROW(q.task_done());
    REQUIRE(q.qsize() == 1U); // task_done does not remove the item
}

TEST_CASE("queue: task_done called more times than items were put raises std::invalid_argument") {
    // py: "extra task_done: ValueError('task_done() called too many times')",
    //     "third task_done: ValueError('task_done() called too many times')"
    string_queue q;
    REQUIRE_THROWS_AS(q.task_done(), std::invalid_argument);
    REQUIRE_THROWS_WITH(q.task_done(), "task_done() called too many times");
    q.put_nowait("a");
    q.put_nowait("b");
    static_cast<void>(q.get_nowait());
    q.task_done();
    q.task_done();
    REQUIRE_THROWS_AS(q.task_done(), std::invalid_argument);
    REQUIRE_THROWS_WITH(q.task_done(), "task_done() called too many times");
}

struct join_now_probe {
    int before_empty = -1;
    int after_empty = -1;
    int before_done = -1;
    int after_done = -1;
};

asyncio::task<void> join_now_main(ticker_state* ts, join_now_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    p->before_empty = ts->ticks;
    co_await q.join();
    p->after_empty = ts->ticks;
    q.put_nowait("a");
    static_cast<void>(q.get_nowait());
    q.task_done();
    p->before_done = ts->ticks;
    co_await q.join();
    p->after_done = ts->ticks;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: join returns without suspending when nothing is unfinished") {
    // py: "join with nothing unfinished: ticks 2 2", "join after all done: ticks 2 2"
    ticker_state ts;
    join_now_probe p;
    run_virtual(join_now_main(&ts, &p));
    REQUIRE(p.before_empty == 2);
    REQUIRE(p.after_empty == 2);
    REQUIRE(p.before_done == 2);
    REQUIRE(p.after_done == 2);
}

struct joiners_probe {
    tick_log log;
    tick_log after_first;
    int cause = -1;
};

asyncio::task<void> joiners_main(ticker_state* ts, joiners_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    q.put_nowait("a");
    q.put_nowait("b");
    std::vector<asyncio::task_handle<void>> js;
    for (int i = 0; i < 3; ++i) {
        js.push_back(asyncio::create_task(joiner(&q, "j" + std::to_string(i), ts, &p->log)));
    }
    co_await asyncio::sleep(0ms);
    q.task_done();
    co_await asyncio::sleep(0ms);
    p->after_first = p->log;
    p->cause = ts->ticks;
    q.task_done();
    for (auto& j : js) {
        co_await j;
    }
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: every joiner wakes one iteration after the final task_done in the order it "
          "waited") {
    // py: "after first task_done: []", "joiners after final task_done at 4 : [('j0', 5),
    //     ('j1', 5), ('j2', 5)]"
    ticker_state ts;
    joiners_probe p;
    run_virtual(joiners_main(&ts, &p));
    REQUIRE(p.after_first.empty());
    REQUIRE(p.cause == 4);
    const tick_log expected{{"j0", 5}, {"j1", 5}, {"j2", 5}};
    REQUIRE(p.log == expected);
}

struct woken_joiner_probe {
    tick_log log;
    tick_log late_log_before;
    bool late_done_before = true;
    tick_log late_log;
};

asyncio::task<void> woken_joiner_main(ticker_state* ts, woken_joiner_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    q.put_nowait("a");
    auto j = asyncio::create_task(joiner(&q, "j", ts, &p->log));
    co_await asyncio::sleep(0ms);
    q.task_done();     // unfinished 0: j is woken
    q.put_nowait("b"); // unfinished 1 again before j runs
    co_await asyncio::sleep(0ms);
    co_await j; // already finished: j returned although an item is unfinished
    auto late = asyncio::create_task(joiner(&q, "late", ts, &p->late_log));
    co_await asyncio::sleep(0ms);
    co_await asyncio::sleep(0ms);
    p->late_log_before = p->late_log;
    p->late_done_before = late.done();
    static_cast<void>(q.get_nowait());
    q.task_done();
    co_await late;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: a woken joiner returns even if new items were put meanwhile") {
    // py: "woken joiner with a new item put: [('j', 4)] unfinished 1", "later joiner waits: []
    //     False", "later joiner: [('late', 7)]"
    ticker_state ts;
    woken_joiner_probe p;
    run_virtual(woken_joiner_main(&ts, &p));
    REQUIRE(p.log == tick_log{{"j", 4}});
    REQUIRE(p.late_log_before.empty()); // a new joiner waits for the new item
    REQUIRE_FALSE(p.late_done_before);
    REQUIRE(p.late_log == tick_log{{"late", 7}});
}

asyncio::task<void> recording_joiner(string_queue* q, string_log* log) {
    bool cancelled = false;
    try {
        co_await q->join();
    } catch (const asyncio::cancelled_error&) {
        cancelled = true;
    }
    log->push_back(cancelled ? "cancelled" : "returned");
    if (cancelled) {
        throw asyncio::cancelled_error();
    }
}

struct cancel_joiner_probe {
    string_log waiting_log;
    bool waiting_cancelled = false;
    string_log woken_log;
    bool woken_cancelled = false;
};

asyncio::task<void> cancel_joiner_main(cancel_joiner_probe* p) {
    string_queue q;
    q.put_nowait("a");
    auto j0 = asyncio::create_task(recording_joiner(&q, &p->waiting_log));
    co_await asyncio::sleep(0ms);
    static_cast<void>(j0.cancel());
    co_await asyncio::sleep(0ms);
    p->waiting_cancelled = j0.cancelled();
    auto j1 = asyncio::create_task(recording_joiner(&q, &p->woken_log));
    co_await asyncio::sleep(0ms);
    q.task_done();                  // wakes j1
    static_cast<void>(j1.cancel()); // before it runs
    co_await asyncio::sleep(0ms);
    p->woken_cancelled = j1.cancelled();
}

TEST_CASE("queue: a joiner cancelled while waiting or after being woken raises cancelled_error") {
    // py: "joiner cancelled while waiting: ['cancelled'] True", "joiner woken then cancelled:
    //     ['cancelled', 'cancelled'] True" (one log there, two here)
    cancel_joiner_probe p;
    run_virtual(cancel_joiner_main(&p));
    REQUIRE(p.waiting_log == string_log{"cancelled"});
    REQUIRE(p.waiting_cancelled);
    REQUIRE(p.woken_log == string_log{"cancelled"});
    REQUIRE(p.woken_cancelled);
}

// ---- shutdown(false) ---------------------------------------------------------------------------

struct shutdown_put_probe {
    bool put_raised = false;
    std::size_t size = 99;
    std::string got;
};

asyncio::task<void> put_after_shutdown_main(shutdown_put_probe* p) {
    string_queue q(2);
    q.put_nowait("a");
    q.shutdown();
    REQUIRE(q.is_shut_down());
    REQUIRE_FALSE(q.full());
    REQUIRE_THROWS_AS(q.put_nowait("z"), asyncio::queue_shut_down);
    try {
        co_await q.put("z");
    } catch (const asyncio::queue_shut_down&) {
        p->put_raised = true;
    }
    p->size = q.qsize();
    p->got = co_await q.get();
}

TEST_CASE("queue: after shutdown put and put_nowait raise queue_shut_down even with room") {
    // py: "shut down, not full: full False qsize 1", "put_nowait on a non-full shut-down queue:
    //     QueueShutDown()", "put on a non-full shut-down queue: QueueShutDown()", "qsize 1 get a"
    shutdown_put_probe p;
    run_virtual(put_after_shutdown_main(&p));
    REQUIRE(p.put_raised);
    REQUIRE(p.size == 1U);
    REQUIRE(p.got == "a");
}

struct blocked_putter_probe {
    string_log log;
    std::size_t size = 99;
    std::vector<std::string> left;
};

asyncio::task<void> blocked_putter_shutdown_main(bool immediate, blocked_putter_probe* p) {
    string_queue q(2);
    q.put_nowait("a");
    q.put_nowait("b");
    auto pt = asyncio::create_task(catching_put(&q, "p", &p->log));
    co_await asyncio::sleep(0ms);
    q.shutdown(immediate);
    co_await pt;
    p->size = q.qsize();
    while (!q.empty()) {
        p->left.push_back(q.get_nowait());
    }
}

TEST_CASE("queue: shutdown makes a blocked putter raise queue_shut_down without inserting its "
          "item") {
    blocked_putter_probe p;
    SECTION("shutdown(false) keeps the items") {
        // py: "blocked putter: ['put p raised QueueShutDown()'] items ['a', 'b']"
        run_virtual(blocked_putter_shutdown_main(false, &p));
        REQUIRE(p.log == string_log{"put p raised"});
        REQUIRE(p.size == 2U);
        REQUIRE(p.left == std::vector<std::string>{"a", "b"});
    }
    SECTION("shutdown(true) removes them") {
        // py: "immediate: blocked putter ['put p raised QueueShutDown()'] items []"
        run_virtual(blocked_putter_shutdown_main(true, &p));
        REQUIRE(p.log == string_log{"put p raised"});
        REQUIRE(p.size == 0U);
        REQUIRE(p.left.empty());
    }
}

struct remaining_probe {
    std::string first;
    std::string second;
    bool get_raised = false;
};

asyncio::task<void> remaining_after_shutdown_main(remaining_probe* p) {
    string_queue q(2);
    q.put_nowait("a");
    q.put_nowait("b");
    q.shutdown();
    REQUIRE(q.qsize() == 2U);
    p->first = co_await q.get();
    p->second = q.get_nowait();
    REQUIRE_THROWS_AS(q.get_nowait(), asyncio::queue_shut_down);
    try {
        static_cast<void>(co_await q.get());
    } catch (const asyncio::queue_shut_down&) {
        p->get_raised = true;
    }
    // task_done keeps counting after shutdown(false)
    q.task_done();
    q.task_done();
    REQUIRE_THROWS_WITH(q.task_done(), "task_done() called too many times");
}

TEST_CASE("queue: after shutdown get returns the remaining items then raises queue_shut_down") {
    // py: "after shutdown(False): qsize 2 is_shutdown True", "get a b", "task_done keeps counting
    //     after shutdown(False): ValueError('task_done() called too many times')",
    //     "get_nowait when shut down and empty: QueueShutDown()", "get when shut down and empty:
    //     QueueShutDown()"
    remaining_probe p;
    run_virtual(remaining_after_shutdown_main(&p));
    REQUIRE(p.first == "a");
    REQUIRE(p.second == "b");
    REQUIRE(p.get_raised);
}

struct blocked_getters_probe {
    int cause = -1;
    string_log log;
};

asyncio::task<void> blocked_getters_shutdown_main(ticker_state* ts, blocked_getters_probe* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    auto g0 = asyncio::create_task(catching_get(&q, "g0", ts, &p->log));
    auto g1 = asyncio::create_task(catching_get(&q, "g1", ts, &p->log));
    co_await asyncio::sleep(0ms);
    p->cause = ts->ticks;
    q.shutdown();
    co_await g0;
    co_await g1;
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: shutdown makes blocked getters raise queue_shut_down one iteration later") {
    // py: "shutdown at 3", "blocked getters: ['g0 raised QueueShutDown() at 4',
    //     'g1 raised QueueShutDown() at 4']"
    ticker_state ts;
    blocked_getters_probe p;
    run_virtual(blocked_getters_shutdown_main(&ts, &p));
    REQUIRE(p.cause == 3);
    REQUIRE(p.log == string_log{"g0 raised at 4", "g1 raised at 4"});
}

// ---- shutdown(true) ----------------------------------------------------------------------------

struct immediate_probe_joins {
    std::string took;
    std::size_t size_after_shutdown = 99;
    tick_log after_shutdown;
    bool get_raised = false;
    int cause = -1;
    tick_log log;
    bool extra_task_done_raised = false;
};

asyncio::task<void> immediate_with_taken_item_main(ticker_state* ts, immediate_probe_joins* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    q.put_nowait("a");
    q.put_nowait("b");
    q.put_nowait("c");
    p->took = q.get_nowait();
    std::vector<asyncio::task_handle<void>> js;
    for (int i = 0; i < 2; ++i) {
        js.push_back(asyncio::create_task(joiner(&q, "j" + std::to_string(i), ts, &p->log)));
    }
    co_await asyncio::sleep(0ms);
    q.shutdown(true); // removes b and c: unfinished 3 -> 1 (a was taken, not done)
    p->size_after_shutdown = q.qsize();
    co_await asyncio::sleep(0ms);
    co_await asyncio::sleep(0ms);
    p->after_shutdown = p->log;
    try {
        static_cast<void>(q.get_nowait());
    } catch (const asyncio::queue_shut_down&) {
        p->get_raised = true;
    }
    p->cause = ts->ticks;
    q.task_done(); // the taken item: unfinished 0
    for (auto& j : js) {
        co_await j;
    }
    try {
        q.task_done();
    } catch (const std::invalid_argument&) {
        p->extra_task_done_raised = true;
    }
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: shutdown(true) removes the items but joiners wait for the items already taken") {
    // py: "took a", "after shutdown(True): qsize 0 unfinished 1", "joiners after immediate
    //     shutdown with one taken item: []", "get_nowait: QueueShutDown()", "joiners after
    //     task_done at 5 : [('j0', 6), ('j1', 6)]", "extra task_done after drain:
    //     ValueError('task_done() called too many times')"
    ticker_state ts;
    immediate_probe_joins p;
    run_virtual(immediate_with_taken_item_main(&ts, &p));
    REQUIRE(p.took == "a");
    REQUIRE(p.size_after_shutdown == 0U);
    REQUIRE(p.after_shutdown.empty());
    REQUIRE(p.get_raised);
    REQUIRE(p.cause == 5);
    const tick_log expected{{"j0", 6}, {"j1", 6}};
    REQUIRE(p.log == expected);
    REQUIRE(p.extra_task_done_raised);
}

asyncio::task<void> immediate_drain_main(ticker_state* ts, immediate_probe_joins* p) {
    auto tk = co_await start_guarded_ticker(ts);
    string_queue q;
    q.put_nowait("a");
    q.put_nowait("b");
    auto j = asyncio::create_task(joiner(&q, "j", ts, &p->log));
    co_await asyncio::sleep(0ms);
    p->cause = ts->ticks;
    q.shutdown(true); // unfinished 2 -> 0: the joiner is released
    p->size_after_shutdown = q.qsize();
    co_await j;
    try {
        q.task_done();
    } catch (const std::invalid_argument& e) {
        p->extra_task_done_raised = std::string(e.what()) == "task_done() called too many times";
    }
    co_await q.join(); // nothing unfinished
    co_await stop_guarded_ticker(ts, tk);
}

TEST_CASE("queue: shutdown(true) of untaken items releases joiners one iteration later and an "
          "extra task_done raises") {
    // py: "joiner after full immediate drain at 3 : [('j', 4)]", "extra task_done after drain:
    //     ValueError('task_done() called too many times')"
    ticker_state ts;
    immediate_probe_joins p;
    run_virtual(immediate_drain_main(&ts, &p));
    REQUIRE(p.size_after_shutdown == 0U);
    REQUIRE(p.cause == 3);
    REQUIRE(p.log == tick_log{{"j", 4}});
    REQUIRE(p.extra_task_done_raised);
}

// ---- lifo_queue and priority_queue -------------------------------------------------------------

TEST_CASE("lifo_queue: the last item put is the first got") {
    // py: "lifo [2, 3, 1]"
    asyncio::lifo_queue<int> q;
    q.put_nowait(1);
    q.put_nowait(3);
    q.put_nowait(2);
    std::vector<int> out;
    while (!q.empty()) {
        out.push_back(q.get_nowait());
    }
    REQUIRE(out == std::vector<int>{2, 3, 1});
    REQUIRE_THROWS_AS(q.get_nowait(), asyncio::queue_empty);
}

TEST_CASE("priority_queue: the smallest item is got first") {
    // py: "priority [1, 2, 3]"
    asyncio::priority_queue<int> q;
    q.put_nowait(1);
    q.put_nowait(3);
    q.put_nowait(2);
    std::vector<int> out;
    while (!q.empty()) {
        out.push_back(q.get_nowait());
    }
    REQUIRE(out == std::vector<int>{1, 2, 3});
}

struct job {
    int priority = 0;
    std::string label;
};

struct by_priority {
    bool operator()(const job& a, const job& b) const noexcept { return a.priority < b.priority; }
};

TEST_CASE("priority_queue: equal priorities come out in insertion order") {
    // Deliberate deviation: heapq would compare the labels on ties; the Python twin uses
    // (priority, seq, label) to get insertion order.
    // py: "priority with (prio, seq, label) ['m', 'z', 'b', 'x', 'a']"
    asyncio::priority_queue<job, by_priority> q;
    const std::vector<job> in{{2, "x"}, {1, "z"}, {2, "a"}, {1, "b"}, {0, "m"}};
    for (const job& j : in) {
        q.put_nowait(j);
    }
    std::vector<std::string> out;
    while (!q.empty()) {
        out.push_back(q.get_nowait().label);
    }
    REQUIRE(out == std::vector<std::string>{"m", "z", "b", "x", "a"});
}

template <class Q> asyncio::task<void> put_int(Q* q, int v) {
    co_await q->put(v);
}

template <class Q> asyncio::task<void> awaiters_main(Q* q, std::vector<int>* out) {
    co_await q->put(1);
    co_await q->put(3);
    auto p = asyncio::create_task(put_int(q, 2)); // blocks: maxsize 2
    co_await asyncio::sleep(0ms);
    out->push_back(co_await q->get()); // wakes p
    co_await p;
    out->push_back(co_await q->get());
    out->push_back(co_await q->get());
}

TEST_CASE("lifo_queue and priority_queue: put and get wait and wake as in queue") {
    // LIFO: 1,3 in; get -> 3; 2 put; then 2, 1. Priority: 1,3 in; get -> 1; 2 put; then 2, 3.
    std::vector<int> lifo_out;
    asyncio::lifo_queue<int> lifo(2);
    run_virtual(awaiters_main(&lifo, &lifo_out));
    REQUIRE(lifo_out == std::vector<int>{3, 2, 1});
    std::vector<int> prio_out;
    asyncio::priority_queue<int> prio(2);
    run_virtual(awaiters_main(&prio, &prio_out));
    REQUIRE(prio_out == std::vector<int>{1, 2, 3});
}

// ---- move-only and tracked values --------------------------------------------------------------

using ptr_queue = asyncio::queue<std::unique_ptr<int>>;

asyncio::task<void> put_ptr(ptr_queue* q, int v) {
    co_await q->put(std::make_unique<int>(v));
}

asyncio::task<void> unique_ptr_main(std::vector<int>* out) {
    ptr_queue q(1);
    co_await q.put(std::make_unique<int>(1));
    auto p = asyncio::create_task(put_ptr(&q, 2)); // blocks: the queue is full
    co_await asyncio::sleep(0ms);
    std::unique_ptr<int> a = co_await q.get();
    out->push_back(*a);
    std::unique_ptr<int> b = co_await q.get(); // waits for the putter's item
    out->push_back(*b);
    co_await p;
    q.put_nowait(std::make_unique<int>(3));
    out->push_back(*q.get_nowait());
}

struct deref_less {
    bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const noexcept {
        return *a < *b;
    }
};

TEST_CASE("queue: move-only unique_ptr values go through put, get and the nowait forms") {
    std::vector<int> out;
    run_virtual(unique_ptr_main(&out));
    REQUIRE(out == std::vector<int>{1, 2, 3});

    asyncio::lifo_queue<std::unique_ptr<int>> lifo;
    asyncio::priority_queue<std::unique_ptr<int>, deref_less> prio;
    for (int v : {1, 3, 2}) {
        lifo.put_nowait(std::make_unique<int>(v));
        prio.put_nowait(std::make_unique<int>(v));
    }
    REQUIRE(*lifo.get_nowait() == 2);
    REQUIRE(*prio.get_nowait() == 1);
    REQUIRE(lifo.qsize() == 2U); // the rest is destroyed with the queues
    REQUIRE(prio.qsize() == 2U);
}

struct tracked_flow_probe {
    std::vector<int> got;
    long alive_with_two_queued = -1;
    long alive_after_queue = -1;
};

asyncio::task<void> tracked_flow_main(tracked_flow_probe* p) {
    {
        asyncio::queue<tracked> q;
        co_await q.put(tracked(1));
        q.put_nowait(tracked(2));
        q.put_nowait(tracked(3));
        const tracked a = co_await q.get();
        p->got.push_back(a.value);
        p->alive_with_two_queued = lifetime_counter::alive(); // a and the two still queued
    } // the queue dies with two items in it
    p->alive_after_queue = lifetime_counter::alive();
}

TEST_CASE("queue: tracked items still queued when the queue is destroyed are destroyed once") {
    lifetime_scope scope;
    tracked_flow_probe p;
    run_virtual(tracked_flow_main(&p));
    REQUIRE(p.got == std::vector<int>{1});
    REQUIRE(p.alive_with_two_queued == 3);
    REQUIRE(p.alive_after_queue == 0);
    REQUIRE(lifetime_scope::balanced());
}

asyncio::task<void> put_tracked(asyncio::queue<tracked>* q, int v) {
    co_await q->put(tracked(v));
}

struct cancelled_tracked_probe {
    bool cancelled = false;
    long alive_after_cancel = -1;
    std::size_t size = 99;
    int value = -1;
    bool moved_from = true;
};

asyncio::task<void> cancelled_tracked_put_main(cancelled_tracked_probe* p) {
    asyncio::queue<tracked> q(1);
    q.put_nowait(tracked(0));
    auto h = asyncio::create_task(put_tracked(&q, 7));
    co_await asyncio::sleep(0ms); // the putter blocks holding tracked(7)
    static_cast<void>(h.cancel());
    co_await asyncio::sleep(0ms);
    p->cancelled = h.cancelled();
    p->alive_after_cancel = lifetime_counter::alive(); // only the queued tracked(0)
    p->size = q.qsize();
    const tracked t = q.get_nowait();
    p->value = t.value;
    p->moved_from = t.moved_from;
}

TEST_CASE("queue: a cancelled put destroys its tracked item exactly once without inserting it") {
    lifetime_scope scope;
    cancelled_tracked_probe p;
    run_virtual(cancelled_tracked_put_main(&p));
    REQUIRE(p.cancelled);
    REQUIRE(p.alive_after_cancel == 1);
    REQUIRE(p.size == 1U);
    REQUIRE(p.value == 0);
    REQUIRE_FALSE(p.moved_from);
    REQUIRE(lifetime_scope::balanced());
}

asyncio::task<void> immediate_tracked_main(long* alive_after_shutdown) {
    asyncio::queue<tracked> q(2);
    q.put_nowait(tracked(1));
    q.put_nowait(tracked(2));
    auto h = asyncio::create_task(put_tracked(&q, 3)); // blocked putter holding tracked(3)
    co_await asyncio::sleep(0ms);
    q.shutdown(true);
    try {
        co_await h;
    } catch (const asyncio::queue_shut_down&) {
    }
    *alive_after_shutdown = lifetime_counter::alive();
}

TEST_CASE("queue: shutdown(true) destroys the removed items and the blocked putter's item") {
    lifetime_scope scope;
    long alive = -1;
    run_virtual(immediate_tracked_main(&alive));
    REQUIRE(alive == 0);
    REQUIRE(lifetime_scope::balanced());
}

} // namespace
