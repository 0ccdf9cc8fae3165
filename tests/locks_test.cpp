// SPDX-License-Identifier: MIT
// Tests for locks.hpp: event, lock, semaphore, bounded_semaphore, condition and barrier against
// CPython 3.13 (asyncio-semantics.md section 6). Each test case is a twin of one case of
// tests/py/locks.py, which prints, on a fresh virtual-clock loop per case, the lines asserted
// here (tests/py/locks.expected). "tick n" lines come from a task that logs once per iteration,
// so they pin on which iteration each other line happens (the hop counts).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using asyncio::testing::run_virtual;

namespace {

using log_t = std::vector<std::string>;
log_t* out = nullptr;

void put(std::ostringstream& s, bool b) {
    s << (b ? "True" : "False");
}
template <class T> void put(std::ostringstream& s, const T& v) {
    s << v;
}

/// Python's print(a, b, ...): the arguments joined by spaces, bools as True/False.
template <class... A> void say(const A&... a) {
    std::ostringstream s;
    bool first = true;
    ((s << (first ? "" : " "), put(s, a), first = false), ...);
    out->push_back(s.str());
}

std::string quoted(const std::string& s) {
    return "'" + s + "'";
}

log_t run_case(asyncio::task<> (*body)()) {
    log_t log;
    out = &log;
    run_virtual(body());
    out = nullptr;
    return log;
}

asyncio::task<> ticks(int n) {
    for (int i = 0; i < n; ++i) {
        say("tick", i);
        co_await asyncio::sleep(0s);
    }
}

// ---- event

asyncio::task<> event_waiter(asyncio::event* e, std::string name) {
    co_await e->wait();
    say(name);
}

asyncio::task<> event_set_wakes_waiters_in_wait_order() {
    asyncio::event e;
    auto t0 = asyncio::create_task(event_waiter(&e, "w0"));
    auto t1 = asyncio::create_task(event_waiter(&e, "w1"));
    co_await asyncio::sleep(0s);
    auto t2 = asyncio::create_task(event_waiter(&e, "w2"));
    e.set();
    co_await asyncio::gather(t0, t1, t2);
}

asyncio::task<> event_waiter_woke(asyncio::event* e, std::string name) {
    co_await e->wait();
    say(name, "woke");
}

asyncio::task<> event_clear_after_set_keeps_delivered_wakeups() {
    asyncio::event e;
    auto t0 = asyncio::create_task(event_waiter_woke(&e, "w0"));
    auto t1 = asyncio::create_task(event_waiter_woke(&e, "w1"));
    co_await asyncio::sleep(0s);
    e.set();
    e.clear();
    auto late = asyncio::create_task(event_waiter_woke(&e, "late"));
    co_await asyncio::gather(t0, t1);
    co_await asyncio::sleep(0s);
    say("late done", late.done(), "is_set", e.is_set());
    e.set();
    co_await late;
}

asyncio::task<> event_waiter_catching(asyncio::event* e, std::string name) {
    try {
        co_await e->wait();
        say(name, "woke");
    } catch (const asyncio::cancelled_error&) {
        say(name, "cancelled");
    }
}

asyncio::task<> event_cancelled_waiter_is_skipped() {
    asyncio::event e;
    auto t0 = asyncio::create_task(event_waiter_catching(&e, "w0"));
    auto t1 = asyncio::create_task(event_waiter_catching(&e, "w1"));
    co_await asyncio::sleep(0s);
    t0.cancel();
    e.set();
    co_await asyncio::gather(t0, t1);
}

// ---- lock

asyncio::task<> lock_release_of_unlocked_lock_raises() {
    asyncio::lock lk;
    try {
        lk.release();
    } catch (const std::runtime_error& e) {
        say("RuntimeError", quoted(e.what()));
    }
    co_return;
}

asyncio::task<> lock_user_yielding(asyncio::lock* lk, std::string name) {
    co_await lk->acquire();
    say(name, "acquired");
    co_await asyncio::sleep(0s);
    lk->release();
    say(name, "released");
}

asyncio::task<> lock_newcomer_queues_behind_woken_waiter() {
    asyncio::lock lk;
    co_await lk.acquire();
    auto b = asyncio::create_task(lock_user_yielding(&lk, "b"));
    auto tk = asyncio::create_task(ticks(6));
    co_await asyncio::sleep(0s);
    lk.release();
    say("main released, locked", lk.locked());
    auto c = asyncio::create_task(lock_user_yielding(&lk, "c"));
    co_await asyncio::gather(b, c, tk);
}

asyncio::task<> lock_user_cancellable(asyncio::lock* lk, std::string name) {
    try {
        co_await lk->acquire();
    } catch (const asyncio::cancelled_error&) {
        say(name, "cancelled, locked", lk->locked());
        co_return;
    }
    say(name, "acquired");
    lk->release();
}

asyncio::task<> lock_woken_then_cancelled_waiter_passes_wakeup_on() {
    asyncio::lock lk;
    co_await lk.acquire();
    auto b = asyncio::create_task(lock_user_cancellable(&lk, "b"));
    auto c = asyncio::create_task(lock_user_cancellable(&lk, "c"));
    auto tk = asyncio::create_task(ticks(5));
    co_await asyncio::sleep(0s);
    lk.release();
    b.cancel();
    say("main released and cancelled b");
    co_await asyncio::gather(b, c, tk);
}

asyncio::task<> lock_user_quiet(asyncio::lock* lk, std::string name) {
    try {
        co_await lk->acquire();
    } catch (const asyncio::cancelled_error&) {
        say(name, "cancelled");
        co_return;
    }
    say(name, "acquired");
    lk->release();
}

asyncio::task<> lock_cancelled_waiter_delays_the_next_by_one_hop() {
    asyncio::lock lk;
    co_await lk.acquire();
    auto b = asyncio::create_task(lock_user_quiet(&lk, "b"));
    auto c = asyncio::create_task(lock_user_quiet(&lk, "c"));
    auto tk = asyncio::create_task(ticks(5));
    co_await asyncio::sleep(0s);
    b.cancel();
    lk.release();
    say("main cancelled b and released");
    co_await asyncio::gather(b, c, tk);
}

asyncio::task<> lock_fast_path_when_all_waiters_are_cancelled() {
    asyncio::lock lk;
    co_await lk.acquire();
    auto b = asyncio::create_task(lock_user_quiet(&lk, "b"));
    co_await asyncio::sleep(0s);
    b.cancel();
    lk.release();
    co_await lk.acquire();
    say("main re-acquired without waiting, b done", b.done());
    lk.release();
    co_await b;
}

asyncio::task<> lock_guard_releases_on_scope_exit() {
    asyncio::lock lk;
    {
        auto held = co_await lk.acquire_guard();
        say("inside, locked", lk.locked());
    }
    say("after, locked", lk.locked());
    try {
        auto held = co_await lk.acquire_guard();
        throw std::invalid_argument("boom");
    } catch (const std::invalid_argument&) {
        say("after error, locked", lk.locked());
    }
}

// ---- semaphore

asyncio::task<> fifo_coro(asyncio::semaphore* sem, std::vector<std::string>* result,
                          std::string tag) {
    co_await sem->acquire();
    result->push_back(tag + "_1");
    co_await asyncio::sleep(10ms);
    sem->release();
    co_await sem->acquire();
    result->push_back(tag + "_2");
    co_await asyncio::sleep(10ms);
    sem->release();
}

asyncio::task<> semaphore_fifo_order_is_pinned() {
    asyncio::semaphore sem(1);
    std::vector<std::string> result;
    co_await asyncio::gather(fifo_coro(&sem, &result, "c1"), fifo_coro(&sem, &result, "c2"),
                             fifo_coro(&sem, &result, "c3"));
    std::string joined;
    for (const auto& r : result) {
        joined += (joined.empty() ? "" : ",") + r;
    }
    say(joined);
}

asyncio::task<> semaphore_negative_value_raises() {
    try {
        asyncio::semaphore s(-1);
    } catch (const std::invalid_argument& e) {
        say("ValueError", quoted(e.what()));
    }
    co_return;
}

asyncio::task<> bounded_semaphore_released_too_many_times_raises() {
    asyncio::bounded_semaphore sem(2);
    co_await sem.acquire();
    sem.release();
    try {
        sem.release();
    } catch (const std::invalid_argument& e) {
        say("ValueError", quoted(e.what()));
    }
}

asyncio::task<> sem_user(asyncio::semaphore* sem, std::string name) {
    try {
        co_await sem->acquire();
    } catch (const asyncio::cancelled_error&) {
        say(name, "cancelled, value", sem->value());
        co_return;
    }
    say(name, "acquired, value", sem->value());
}

asyncio::task<> semaphore_woken_then_cancelled_gives_its_unit_on() {
    asyncio::semaphore sem(0);
    auto b = asyncio::create_task(sem_user(&sem, "b"));
    auto c = asyncio::create_task(sem_user(&sem, "c"));
    auto tk = asyncio::create_task(ticks(5));
    co_await asyncio::sleep(0s);
    sem.release();
    b.cancel();
    say("main released and cancelled b, locked", sem.locked());
    co_await asyncio::gather(b, c, tk);
    say("value", sem.value());
}

asyncio::task<> sem_acquirer(asyncio::semaphore* sem) {
    co_await sem->acquire();
}

asyncio::task<> semaphore_locked_while_a_waiter_is_not_cancelled() {
    asyncio::semaphore sem(1);
    co_await sem.acquire();
    auto b = asyncio::create_task(sem_acquirer(&sem));
    co_await asyncio::sleep(0s);
    sem.release();
    say("released: locked", sem.locked());
    co_await b;
    say("b holds: locked", sem.locked());
    sem.release();
    say("released again: locked", sem.locked());
    auto b2 = asyncio::create_task(sem_acquirer(&sem));
    co_await asyncio::sleep(0s);
    say("b2 took it: locked", sem.locked());
    sem.release();
    co_await sem.acquire();
    auto b3 = asyncio::create_task(sem_acquirer(&sem));
    co_await asyncio::sleep(0s);
    b3.cancel();
    say("waiter cancelled: locked", sem.locked());
    sem.release();
    say("released with only a cancelled waiter: locked", sem.locked());
    co_await asyncio::gather(asyncio::return_exceptions, b2, b3);
}

// ---- condition

asyncio::task<> condition_wait_without_lock_raises() {
    asyncio::condition c;
    try {
        co_await c.wait();
    } catch (const std::runtime_error& e) {
        say("wait: RuntimeError", quoted(e.what()));
    }
    try {
        c.notify();
    } catch (const std::runtime_error& e) {
        say("notify: RuntimeError", quoted(e.what()));
    }
    try {
        c.notify_all();
    } catch (const std::runtime_error& e) {
        say("notify_all: RuntimeError", quoted(e.what()));
    }
}

asyncio::task<> cond_waiter(asyncio::condition* c, std::string name) {
    auto held = co_await c->acquire_guard();
    co_await c->wait();
    say(name, "woke, locked", c->locked());
}

asyncio::task<> condition_notify_wakes_n_waiters_in_fifo_order() {
    asyncio::condition c;
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 4; ++i) {
        ts.push_back(asyncio::create_task(cond_waiter(&c, "w" + std::to_string(i))));
    }
    auto tk = asyncio::create_task(ticks(6));
    co_await asyncio::sleep(0s);
    {
        auto held = co_await c.acquire_guard();
        c.notify(2);
        say("notified 2");
    }
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    {
        auto held = co_await c.acquire_guard();
        c.notify_all();
        say("notified all");
    }
    co_await asyncio::gather(ts);
    co_await tk;
}

asyncio::task<> cond_waiter_reporting(asyncio::condition* c) {
    auto held = co_await c->acquire_guard();
    try {
        co_await c->wait();
    } catch (const asyncio::cancelled_error& e) {
        say("waiter: CancelledError, locked", c->locked());
        throw;
    }
}

asyncio::task<> condition_wait_reacquires_the_lock_even_when_cancelled() {
    asyncio::condition c;
    auto t = asyncio::create_task(cond_waiter_reporting(&c));
    co_await asyncio::sleep(0s);
    co_await c.acquire();
    t.cancel();
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    say("main still holds the lock, waiter done", t.done());
    c.release();
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        say("waiter cancelled", t.cancelled(), "locked", c.locked());
    }
}

asyncio::task<> cond_waiter_message(asyncio::condition* c) {
    auto held = co_await c->acquire_guard();
    try {
        co_await c->wait();
    } catch (const asyncio::cancelled_error& e) {
        say("waiter: CancelledError", quoted(e.message()), "locked", c->locked());
        throw;
    }
}

asyncio::task<> condition_cancelled_while_reacquiring_still_reacquires() {
    asyncio::condition c;
    auto t = asyncio::create_task(cond_waiter_message(&c));
    co_await asyncio::sleep(0s);
    {
        auto held = co_await c.acquire_guard();
        c.notify();
        co_await asyncio::sleep(0s);
        t.cancel("second");
        co_await asyncio::sleep(0s);
        say("main releases");
    }
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        say("waiter cancelled", t.cancelled());
    }
}

asyncio::task<> cond_waiter_named(asyncio::condition* c, std::string name) {
    auto held = co_await c->acquire_guard();
    try {
        co_await c->wait();
    } catch (const asyncio::cancelled_error&) {
        say(name, "cancelled");
        throw;
    }
    say(name, "woke");
}

asyncio::task<> condition_cancelled_waiter_passes_notify_on() {
    asyncio::condition c;
    auto a = asyncio::create_task(cond_waiter_named(&c, "a"));
    auto b = asyncio::create_task(cond_waiter_named(&c, "b"));
    co_await asyncio::sleep(0s);
    {
        auto held = co_await c.acquire_guard();
        c.notify(1);
        a.cancel();
    }
    co_await asyncio::gather(asyncio::return_exceptions, a, b);
}

asyncio::task<> cond_wait_for_user(asyncio::condition* c, int* state) {
    auto held = co_await c->acquire_guard();
    const int r = co_await c->wait_for([state] { return *state >= 2 ? *state : 0; });
    say("wait_for returned", r);
}

asyncio::task<> condition_wait_for_returns_the_predicate_value() {
    asyncio::condition c;
    int state = 0;
    auto t = asyncio::create_task(cond_wait_for_user(&c, &state));
    for (int i = 0; i < 3; ++i) {
        co_await asyncio::sleep(0s);
        auto held = co_await c.acquire_guard();
        ++state;
        say("state", state);
        c.notify();
    }
    co_await t;
    auto held = co_await c.acquire_guard();
    say("ready at once:", co_await c.wait_for([] { return 7; }));
}

// ---- barrier

asyncio::task<> barrier_user(asyncio::barrier* b, std::string name) {
    const auto i = co_await b->wait();
    say(name, "index", i);
}

asyncio::task<> barrier_last_arrival_gets_last_index_and_resumes_first() {
    asyncio::barrier b(3);
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 3; ++i) {
        ts.push_back(asyncio::create_task(barrier_user(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::sleep(0s);
    say("n_waiting", b.n_waiting());
    co_await asyncio::gather(ts);
    say("n_waiting", b.n_waiting(), "broken", b.broken());
}

asyncio::task<> barrier_new_arrivals_wait_for_the_next_cycle() {
    asyncio::barrier b(2);
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 4; ++i) {
        ts.push_back(asyncio::create_task(barrier_user(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::gather(ts);
}

asyncio::task<> barrier_breakable(asyncio::barrier* b, std::string name) {
    try {
        (void)co_await b->wait();
    } catch (const asyncio::broken_barrier_error& e) {
        say(name, "BrokenBarrierError", quoted(e.what()));
    }
}

asyncio::task<> barrier_reset_breaks_the_current_waiters() {
    asyncio::barrier b(3);
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 2; ++i) {
        ts.push_back(asyncio::create_task(barrier_breakable(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::sleep(0s);
    co_await b.reset();
    co_await asyncio::gather(ts);
    say("after reset: n_waiting", b.n_waiting(), "broken", b.broken());
    std::vector<asyncio::task_handle<std::ptrdiff_t>> ws;
    for (int i = 0; i < 3; ++i) {
        ws.push_back(asyncio::create_task(b.wait()));
    }
    auto idx = co_await asyncio::gather(ws);
    std::sort(idx.begin(), idx.end());
    say("refilled:", "[" + std::to_string(idx[0]) + ", " + std::to_string(idx[1]) + ", " +
                         std::to_string(idx[2]) + "]");
}

asyncio::task<> barrier_abort_breaks_it_for_good() {
    asyncio::barrier b(2);
    auto t = asyncio::create_task(barrier_breakable(&b, "t0"));
    co_await asyncio::sleep(0s);
    co_await b.abort();
    co_await t;
    say("broken", b.broken());
    co_await barrier_breakable(&b, "late");
}

asyncio::task<> barrier_cancelled_waiter_leaves() {
    asyncio::barrier b(3);
    std::vector<asyncio::task_handle<std::ptrdiff_t>> ts;
    for (int i = 0; i < 2; ++i) {
        ts.push_back(asyncio::create_task(b.wait()));
    }
    co_await asyncio::sleep(0s);
    say("n_waiting", b.n_waiting());
    ts[0].cancel();
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    say("after cancel: n_waiting", b.n_waiting(), "cancelled", ts[0].cancelled());
    for (int i = 0; i < 2; ++i) {
        ts.push_back(asyncio::create_task(b.wait()));
    }
    auto idx = co_await asyncio::gather(
        std::vector<asyncio::task_handle<std::ptrdiff_t>>(ts.begin() + 1, ts.end()));
    say("indices", "[" + std::to_string(idx[0]) + ", " + std::to_string(idx[1]) + ", " +
                       std::to_string(idx[2]) + "]");
}

asyncio::task<> barrier_hop_user(asyncio::barrier* b, std::string name) {
    say(name, "arrives");
    const auto i = co_await b->wait();
    say(name, "index", i, "n_waiting", b->n_waiting());
}

asyncio::task<> barrier_hops_while_filling_and_draining() {
    asyncio::barrier b(2);
    std::vector<asyncio::task_handle<void>> ts{asyncio::create_task(ticks(8))};
    for (int i = 0; i < 4; ++i) {
        ts.push_back(asyncio::create_task(barrier_hop_user(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::gather(ts);
}

asyncio::task<> barrier_indexed_or_broken(asyncio::barrier* b, std::string name) {
    try {
        say(name, "index", co_await b->wait());
    } catch (const asyncio::broken_barrier_error& e) {
        say(name, "BrokenBarrierError", quoted(e.what()));
    }
}

asyncio::task<> barrier_hops_of_reset_and_abort() {
    asyncio::barrier b(3);
    std::vector<asyncio::task_handle<void>> ts{asyncio::create_task(ticks(8))};
    for (int i = 0; i < 2; ++i) {
        ts.push_back(asyncio::create_task(barrier_indexed_or_broken(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::sleep(0s);
    co_await b.reset();
    say("reset returned");
    ts.push_back(asyncio::create_task(barrier_indexed_or_broken(&b, "t2")));
    co_await asyncio::sleep(0s);
    co_await b.abort();
    say("abort returned, broken", b.broken());
    co_await asyncio::gather(ts);
}

asyncio::task<> barrier_indexed_or_cancelled(asyncio::barrier* b, std::string name) {
    try {
        say(name, "index", co_await b->wait());
    } catch (const asyncio::cancelled_error&) {
        say(name, "CancelledError, n_waiting", b->n_waiting());
        throw;
    }
}

asyncio::task<> barrier_cancel_while_filling() {
    asyncio::barrier b(3);
    auto tk = asyncio::create_task(ticks(6));
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 2; ++i) {
        ts.push_back(
            asyncio::create_task(barrier_indexed_or_cancelled(&b, "t" + std::to_string(i))));
    }
    co_await asyncio::sleep(0s);
    ts[1].cancel();
    say("cancel sent, n_waiting", b.n_waiting());
    co_await asyncio::sleep(0s);
    say("n_waiting", b.n_waiting(), "t1 cancelled", ts[1].cancelled());
    ts.push_back(asyncio::create_task(barrier_indexed_or_cancelled(&b, "t2")));
    ts.push_back(asyncio::create_task(barrier_indexed_or_cancelled(&b, "t3")));
    std::vector<asyncio::task_handle<void>> rest{ts[0], ts[2], ts[3], tk};
    co_await asyncio::gather(rest);
}

asyncio::task<> barrier_cancel_while_draining() {
    asyncio::barrier b(3);
    auto tk = asyncio::create_task(ticks(6));
    std::vector<asyncio::task_handle<void>> ts;
    for (int i = 0; i < 3; ++i) {
        ts.push_back(
            asyncio::create_task(barrier_indexed_or_cancelled(&b, "t" + std::to_string(i))));
    }
    auto blocked = asyncio::create_task(barrier_indexed_or_cancelled(&b, "blocked"));
    auto late = asyncio::create_task(barrier_indexed_or_cancelled(&b, "late"));
    co_await asyncio::sleep(0s);
    ts[0].cancel();
    blocked.cancel();
    say("t0 (woken) and blocked (draining) cancelled");
    co_await asyncio::sleep(0s);
    say("n_waiting", b.n_waiting());
    std::vector<asyncio::task_handle<void>> all = ts;
    all.push_back(blocked);
    all.push_back(tk);
    (void)co_await asyncio::gather(asyncio::return_exceptions, all);
    say("cancelled",
        std::string("[") + (ts[0].cancelled() ? "True" : "False") + ", " +
            (ts[1].cancelled() ? "True" : "False") + ", " + (ts[2].cancelled() ? "True" : "False") +
            "]",
        blocked.cancelled(), "n_waiting", b.n_waiting());
    std::vector<asyncio::task_handle<void>> us{late};
    for (int i = 0; i < 2; ++i) {
        us.push_back(
            asyncio::create_task(barrier_indexed_or_cancelled(&b, "u" + std::to_string(i))));
    }
    co_await asyncio::gather(us);
}

#if !defined(ASYNCIO_NO_BLOCK_POOL)
asyncio::task<> parked_on_event(asyncio::event* e) {
    co_await e->wait();
}

asyncio::task<> parked_on_barrier(asyncio::barrier* b) {
    (void)co_await b->wait();
}

// The pool blocks held by `n` tasks parked on an event's wait (a plain awaiter: the task's own
// frame and state) and by `n` tasks parked on a barrier's wait; equal when the barrier's wait
// allocates no frame of its own.
asyncio::task<> barrier_wait_allocates_no_frame() {
    const auto& pool = asyncio::get_running_loop().core().pool;
    constexpr std::size_t n = 50;
    asyncio::event e;
    asyncio::barrier b(static_cast<std::ptrdiff_t>(n) + 1);
    std::vector<asyncio::task_handle<void>> ts;
    ts.reserve(2 * n);
    const std::size_t start = pool.outstanding();
    for (std::size_t i = 0; i < n; ++i) {
        ts.push_back(asyncio::create_task(parked_on_event(&e)));
    }
    co_await asyncio::sleep(0s);
    const std::size_t with_event = pool.outstanding() - start;
    for (std::size_t i = 0; i < n; ++i) {
        ts.push_back(asyncio::create_task(parked_on_barrier(&b)));
    }
    co_await asyncio::sleep(0s);
    const std::size_t with_barrier = pool.outstanding() - start - with_event;
    say("n_waiting", b.n_waiting());
    say("pool blocks per parked task: event", with_event / n, "barrier", with_barrier / n,
        "extra blocks", with_barrier - with_event);
    e.set();
    (void)co_await b.wait();
    co_await asyncio::gather(ts);
}
#endif

asyncio::task<> barrier_zero_parties_raises() {
    try {
        asyncio::barrier b(0);
    } catch (const std::invalid_argument& e) {
        say("ValueError", quoted(e.what()));
    }
    co_return;
}

} // namespace

// py: each expected list below is the output of the same-named case of tests/py/locks.py on
// CPython 3.13.0 (tests/py/locks.expected).

TEST_CASE("event: set wakes every waiter in wait order, behind a task already queued (w2, w0, "
          "w1)") {
    CHECK(run_case(event_set_wakes_waiters_in_wait_order) == log_t{"w2", "w0", "w1"});
}

TEST_CASE("event: clear after set keeps the wake-ups already delivered, a later waiter blocks") {
    CHECK(run_case(event_clear_after_set_keeps_delivered_wakeups) ==
          log_t{"w0 woke", "w1 woke", "late done False is_set False", "late woke"});
}

TEST_CASE("event: a cancelled waiter is not woken and raises cancelled_error") {
    CHECK(run_case(event_cancelled_waiter_is_skipped) == log_t{"w0 cancelled", "w1 woke"});
}

TEST_CASE("lock: release of an unlocked lock raises runtime_error 'Lock is not acquired.'") {
    CHECK(run_case(lock_release_of_unlocked_lock_raises) ==
          log_t{"RuntimeError 'Lock is not acquired.'"});
}

TEST_CASE("lock: no barging, a newcomer queues behind the woken waiter, which runs one hop after "
          "the release") {
    CHECK(run_case(lock_newcomer_queues_behind_woken_waiter) ==
          log_t{"tick 0", "main released, locked False", "tick 1", "b acquired", "tick 2",
                "b released", "tick 3", "c acquired", "tick 4", "c released", "tick 5"});
}

TEST_CASE("lock: a woken-then-cancelled waiter passes the wake-up on") {
    CHECK(run_case(lock_woken_then_cancelled_waiter_passes_wakeup_on) ==
          log_t{"tick 0", "main released and cancelled b", "tick 1", "b cancelled, locked False",
                "tick 2", "c acquired", "tick 3", "tick 4"});
}

TEST_CASE("lock: a release finding the first waiter cancelled wakes the next only when the "
          "cancelled one runs (one hop later)") {
    CHECK(run_case(lock_cancelled_waiter_delays_the_next_by_one_hop) ==
          log_t{"tick 0", "main cancelled b and released", "tick 1", "b cancelled", "tick 2",
                "c acquired", "tick 3", "tick 4"});
}

TEST_CASE("lock: acquire takes the fast path when every waiter is cancelled") {
    CHECK(run_case(lock_fast_path_when_all_waiters_are_cancelled) ==
          log_t{"main re-acquired without waiting, b done False", "b cancelled"});
}

TEST_CASE("lock: the guard of acquire_guard releases at scope exit, also on an exception") {
    CHECK(run_case(lock_guard_releases_on_scope_exit) ==
          log_t{"inside, locked True", "after, locked False", "after error, locked False"});
}

TEST_CASE("semaphore: strictly FIFO, CPython's pinned order c1_1,c2_1,c3_1,c1_2,c2_2,c3_2") {
    CHECK(run_case(semaphore_fifo_order_is_pinned) == log_t{"c1_1,c2_1,c3_1,c1_2,c2_2,c3_2"});
}

TEST_CASE("semaphore: a negative initial value raises invalid_argument") {
    CHECK(run_case(semaphore_negative_value_raises) ==
          log_t{"ValueError 'Semaphore initial value must be >= 0'"});
    CHECK_THROWS_AS(asyncio::bounded_semaphore(-1), std::invalid_argument);
}

TEST_CASE("bounded_semaphore: released above its initial value raises invalid_argument") {
    CHECK(run_case(bounded_semaphore_released_too_many_times_raises) ==
          log_t{"ValueError 'BoundedSemaphore released too many times'"});
}

TEST_CASE("semaphore: a woken-then-cancelled waiter gives its unit to the next waiter") {
    CHECK(run_case(semaphore_woken_then_cancelled_gives_its_unit_on) ==
          log_t{"tick 0", "main released and cancelled b, locked True", "tick 1",
                "b cancelled, value 0", "tick 2", "c acquired, value 0", "tick 3", "tick 4",
                "value 0"});
}

TEST_CASE("semaphore: locked() while the value is 0 or a waiter is not cancelled") {
    CHECK(run_case(semaphore_locked_while_a_waiter_is_not_cancelled) ==
          log_t{"released: locked True", "b holds: locked True", "released again: locked False",
                "b2 took it: locked True", "waiter cancelled: locked True",
                "released with only a cancelled waiter: locked False"});
}

TEST_CASE("condition: wait, notify and notify_all without the lock raise runtime_error") {
    CHECK(run_case(condition_wait_without_lock_raises) ==
          log_t{"wait: RuntimeError 'cannot wait on un-acquired lock'",
                "notify: RuntimeError 'cannot notify on un-acquired lock'",
                "notify_all: RuntimeError 'cannot notify on un-acquired lock'"});
}

TEST_CASE("condition: notify(n) wakes n waiters in FIFO order, each returning with the lock") {
    CHECK(run_case(condition_notify_wakes_n_waiters_in_fifo_order) ==
          log_t{"tick 0", "notified 2", "tick 1", "w0 woke, locked True", "w1 woke, locked True",
                "tick 2", "notified all", "tick 3", "w2 woke, locked True", "w3 woke, locked True",
                "tick 4", "tick 5"});
}

TEST_CASE("condition: wait re-acquires the lock even when cancelled, and only then rethrows") {
    CHECK(run_case(condition_wait_reacquires_the_lock_even_when_cancelled) ==
          log_t{"main still holds the lock, waiter done False",
                "waiter: CancelledError, locked True", "waiter cancelled True locked False"});
}

TEST_CASE("condition: a waiter cancelled while re-acquiring still re-acquires, with the latest "
          "message") {
    CHECK(run_case(condition_cancelled_while_reacquiring_still_reacquires) ==
          log_t{"main releases", "waiter: CancelledError 'second' locked True",
                "waiter cancelled True"});
}

TEST_CASE("condition: a notified-then-cancelled waiter passes the notify on") {
    CHECK(run_case(condition_cancelled_waiter_passes_notify_on) == log_t{"a cancelled", "b woke"});
}

TEST_CASE("condition: wait_for loops until the predicate is truthy and returns its value") {
    CHECK(run_case(condition_wait_for_returns_the_predicate_value) ==
          log_t{"state 1", "state 2", "wait_for returned 2", "state 3", "ready at once: 7"});
}

TEST_CASE("barrier: indices in arrival order, the last arrival gets parties-1 and resumes first") {
    CHECK(
        run_case(barrier_last_arrival_gets_last_index_and_resumes_first) ==
        log_t{"t2 index 2", "n_waiting 0", "t0 index 0", "t1 index 1", "n_waiting 0 broken False"});
}

TEST_CASE("barrier: while it drains, new arrivals wait for the next cycle") {
    CHECK(run_case(barrier_new_arrivals_wait_for_the_next_cycle) ==
          log_t{"t1 index 1", "t0 index 0", "t3 index 1", "t2 index 0"});
}

TEST_CASE("barrier: reset makes the current waiters raise broken_barrier_error and refills") {
    CHECK(run_case(barrier_reset_breaks_the_current_waiters) ==
          log_t{"t0 BrokenBarrierError 'Abort or reset of barrier'",
                "t1 BrokenBarrierError 'Abort or reset of barrier'",
                "after reset: n_waiting 0 broken False", "refilled: [0, 1, 2]"});
}

TEST_CASE("barrier: abort breaks it for good, later waits raise broken_barrier_error") {
    CHECK(run_case(barrier_abort_breaks_it_for_good) ==
          log_t{"t0 BrokenBarrierError 'Abort or reset of barrier'", "broken True",
                "late BrokenBarrierError 'Barrier aborted'"});
}

TEST_CASE("barrier: a cancelled waiter leaves and n_waiting decreases") {
    CHECK(run_case(barrier_cancelled_waiter_leaves) ==
          log_t{"n_waiting 2", "after cancel: n_waiting 1 cancelled True", "indices [1, 1, 2]"});
}

TEST_CASE("barrier: hops while it fills and drains (the last arrival resumes at once, each other "
          "waiter one iteration later, arrivals while draining a cycle later)") {
    CHECK(run_case(barrier_hops_while_filling_and_draining) ==
          log_t{"tick 0", "t0 arrives", "t1 arrives", "t1 index 1 n_waiting 0", "t2 arrives",
                "t3 arrives", "tick 1", "t0 index 0 n_waiting 0", "tick 2",
                "t3 index 1 n_waiting 0", "tick 3", "t2 index 0 n_waiting 0", "tick 4", "tick 5",
                "tick 6", "tick 7"});
}

TEST_CASE("barrier: hops of reset and abort, and an arrival while resetting waits, then breaks") {
    CHECK(run_case(barrier_hops_of_reset_and_abort) ==
          log_t{"tick 0", "reset returned", "tick 1",
                "t0 BrokenBarrierError 'Abort or reset of barrier'",
                "t1 BrokenBarrierError 'Abort or reset of barrier'", "abort returned, broken True",
                "tick 2", "t2 BrokenBarrierError 'Abort or reset of barrier'", "tick 3", "tick 4",
                "tick 5", "tick 6", "tick 7"});
}

TEST_CASE("barrier: a waiter cancelled while filling leaves at the next iteration, the others "
          "still trip it") {
    CHECK(run_case(barrier_cancel_while_filling) ==
          log_t{"tick 0", "cancel sent, n_waiting 2", "tick 1", "t1 CancelledError, n_waiting 1",
                "n_waiting 1 t1 cancelled True", "tick 2", "t3 index 2", "tick 3", "t0 index 0",
                "t2 index 1", "tick 4", "tick 5"});
}

TEST_CASE("barrier: a woken waiter and a blocked arrival cancelled while draining both raise "
          "cancelled_error, the barrier refills") {
    CHECK(run_case(barrier_cancel_while_draining) ==
          log_t{"tick 0", "t2 index 2", "t0 (woken) and blocked (draining) cancelled", "tick 1",
                "t0 CancelledError, n_waiting 0", "t1 index 1",
                "blocked CancelledError, n_waiting 0", "n_waiting 0", "tick 2", "tick 3", "tick 4",
                "tick 5", "cancelled [True, False, False] True n_waiting 1", "u1 index 2",
                "late index 0", "u0 index 1"});
}

TEST_CASE("barrier: a wait is a plain awaiter, no coroutine frame per wait (as many pool blocks "
          "per parked task as an event's wait)") {
#if defined(ASYNCIO_NO_BLOCK_POOL)
    SUCCEED("frames bypass the loop's pool in this build (ASan): nothing to count");
#else
    // A task holds two blocks while parked on an event (its frame and its state); the coroutine
    // barrier of before held a third, the frame of barrier::wait().
    CHECK(run_case(barrier_wait_allocates_no_frame) ==
          log_t{"n_waiting 50", "pool blocks per parked task: event 2 barrier 2 extra blocks 0"});
#endif
}

TEST_CASE("barrier: zero parties raises invalid_argument 'parties must be > 0'") {
    CHECK(run_case(barrier_zero_parties_raises) == log_t{"ValueError 'parties must be > 0'"});
}
