// SPDX-License-Identifier: MIT
// Conformance tests for task cancellation: cancel(), cancelling(), uncancel() and cancelled_error.
//
// Each rule of asyncio-semantics.md section 2 has its own test. Expected behaviour was checked
// against CPython 3.13.0 with twin scripts kept outside the repo; their output is quoted in the
// `//` comments ("py:").

#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::lifetime_counter;
using asyncio::testing::lifetime_scope;
using asyncio::testing::now_seconds;
using asyncio::testing::run_virtual;
using asyncio::testing::ticker;
using asyncio::testing::ticker_state;
using asyncio::testing::tracked;

namespace {

asyncio::task<int> value(int v) {
    co_return v;
}

// What a sleeping task saw when it was woken or cancelled.
struct sleeper_probe {
    bool woke_normally = false;
    bool cancelled = false;
    std::string message;
    int tick = -1;
    double at = -1.0;
    const ticker_state* ts = nullptr;
};

asyncio::task<void> sleep_long(sleeper_probe* p) {
    try {
        co_await asyncio::sleep(1h);
        p->woke_normally = true;
    } catch (const asyncio::cancelled_error& e) {
        p->cancelled = true;
        p->message = e.message();
        p->tick = (p->ts != nullptr) ? p->ts->ticks : -1;
        p->at = now_seconds();
        throw;
    }
}

// Swallows the first cancellation, yields once more, then returns 7.
asyncio::task<int> swallow(sleeper_probe* p) {
    try {
        co_await asyncio::sleep(1h);
    } catch (const asyncio::cancelled_error&) {
        p->cancelled = true;
    }
    co_await asyncio::sleep(0ms);
    co_return 7;
}

// ---- cancel() and cancelling() ----------------------------------------------------------------

struct state_probe {
    bool accepted = true;
    bool cancelled = true;
    bool done = false;
    int cancelling = -1;
    int result = 0;
};

asyncio::task<void> cancel_done_main(state_probe* p) {
    auto h = asyncio::create_task(value(3));
    static_cast<void>(co_await h);
    p->accepted = h.cancel();
    p->done = h.done();
    p->cancelled = h.cancelled();
    p->cancelling = h.cancelling();
    p->result = h.result();
}

TEST_CASE("cancel: cancel() on a done task returns false and changes nothing") {
    // py: "1 cancel done -> False False 0 3"
    state_probe p;
    run_virtual(cancel_done_main(&p));
    REQUIRE_FALSE(p.accepted);
    REQUIRE(p.done);
    REQUIRE_FALSE(p.cancelled);
    REQUIRE(p.cancelling == 0);
    REQUIRE(p.result == 3);
}

struct count_probe {
    bool first = false;
    int after_first = -1;
    bool second = false;
    int after_second = -1;
    bool raised = false;
    bool cancelled = false;
    int cancelling_at_end = -1;
};

asyncio::task<void> cancel_counts_main(count_probe* p) {
    sleeper_probe sp;
    auto h = asyncio::create_task(sleep_long(&sp));
    co_await asyncio::sleep(0ms);
    p->first = h.cancel();
    p->after_first = h.cancelling();
    p->second = h.cancel();
    p->after_second = h.cancelling();
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        p->raised = true;
    }
    p->cancelled = h.cancelled();
    p->cancelling_at_end = h.cancelling();
}

TEST_CASE("cancel: cancel() returns true and cancelling() counts every request") {
    // py: "2 cancel -> True 1 True 2", "2 after: cancelled True cancelling 2"
    count_probe p;
    run_virtual(cancel_counts_main(&p));
    REQUIRE(p.first);
    REQUIRE(p.after_first == 1);
    REQUIRE(p.second);
    REQUIRE(p.after_second == 2);
    REQUIRE(p.raised);
    REQUIRE(p.cancelled);
    REQUIRE(p.cancelling_at_end == 2);
}

struct hop_probe {
    int cancel_tick = -1;
    bool raised = false;
};

asyncio::task<void> cancel_hop_main(ticker_state* ts, sleeper_probe* sp, hop_probe* p) {
    auto tick = asyncio::create_task(ticker(ts));
    sp->ts = ts;
    auto h = asyncio::create_task(sleep_long(sp));
    co_await asyncio::sleep(0ms);
    p->cancel_tick = ts->ticks;
    static_cast<void>(h.cancel());
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        p->raised = true;
    }
    ts->stop = true;
    co_await tick;
}

TEST_CASE("cancel: cancelled_error arrives at the task's current co_await one iteration later") {
    // py (cancellation_test.py): "hop: cancel at tick 1 delivered at tick 2"
    ticker_state ts;
    sleeper_probe sp;
    hop_probe p;
    run_virtual(cancel_hop_main(&ts, &sp, &p));
    REQUIRE(p.raised);
    REQUIRE(sp.cancelled);
    REQUIRE_FALSE(sp.woke_normally);
    REQUIRE(p.cancel_tick == 1);
    REQUIRE(sp.tick == 2);
    REQUIRE(sp.at == 0.0); // the hour-long sleep did not run out
}

struct swallow_probe {
    int result = 0;
    bool cancelled = true;
    int cancelling = -1;
};

asyncio::task<void> swallow_main(sleeper_probe* sp, swallow_probe* p) {
    auto h = asyncio::create_task(swallow(sp));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel());
    p->result = co_await h;
    p->cancelled = h.cancelled();
    p->cancelling = h.cancelling();
}

TEST_CASE("cancel: a task that catches cancelled_error can carry on and return a value") {
    // py: "4 swallow: 7 ['caught'] cancelled False cancelling 1"
    sleeper_probe sp;
    swallow_probe p;
    run_virtual(swallow_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(p.result == 7);
    REQUIRE_FALSE(p.cancelled);
    REQUIRE(p.cancelling == 1);
}

struct std_catch_probe {
    bool caught_as_std = false;
    bool caught_as_cancel = false;
    bool task_cancelled = false;
};

asyncio::task<void> catch_std_exception(std_catch_probe* p) {
    try {
        try {
            co_await asyncio::sleep(1h);
        } catch (const std::exception&) {
            p->caught_as_std = true;
        }
    } catch (const asyncio::cancelled_error&) {
        p->caught_as_cancel = true;
        throw;
    }
}

asyncio::task<void> std_catch_main(std_catch_probe* p) {
    auto h = asyncio::create_task(catch_std_exception(p));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel());
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        p->task_cancelled = h.cancelled();
    }
}

TEST_CASE("cancel: cancelled_error is not caught by catch (const std::exception&)") {
    // py: CancelledError derives from BaseException, so `except Exception` does not see it.
    static_assert(!std::is_base_of_v<std::exception, asyncio::cancelled_error>);
    std_catch_probe p;
    run_virtual(std_catch_main(&p));
    REQUIRE_FALSE(p.caught_as_std);
    REQUIRE(p.caught_as_cancel);
    REQUIRE(p.task_cancelled);
}

asyncio::task<void> message_main(sleeper_probe* sp, std::string* awaiter_message) {
    auto h = asyncio::create_task(sleep_long(sp));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel("stop now"));
    try {
        co_await h;
    } catch (const asyncio::cancelled_error& e) {
        *awaiter_message = e.message();
    }
}

TEST_CASE("cancel: the message given to cancel() arrives in cancelled_error::message()") {
    // py: "6 delivered [('cancelled', 3, ('stop now',))]", "6 awaiter sees args ('stop now',)"
    sleeper_probe sp;
    std::string awaiter_message;
    run_virtual(message_main(&sp, &awaiter_message));
    REQUIRE(sp.cancelled);
    REQUIRE(sp.message == "stop now");
    REQUIRE(awaiter_message == "stop now");
}

// ---- cancelling a task that is not blocked on anything ----------------------------------------

asyncio::task<int> mark_ran(bool* ran, tracked t) {
    static_cast<void>(t);
    *ran = true;
    co_return 1;
}

struct before_start_probe {
    bool accepted = false;
    bool ran = false;
    bool raised = false;
    bool cancelled = false;
    long alive_after = -1;
};

asyncio::task<void> before_start_main(before_start_probe* p) {
    {
        auto h = asyncio::create_task(mark_ran(&p->ran, tracked(1)));
        p->accepted = h.cancel();
        try {
            static_cast<void>(co_await h);
        } catch (const asyncio::cancelled_error&) {
            p->raised = true;
        }
        p->cancelled = h.cancelled();
    }
    p->alive_after = lifetime_counter::alive();
}

TEST_CASE("cancel: a task cancelled before it starts never runs its body") {
    // py: "7 cancel -> True", "7 log [] cancelled True"
    lifetime_scope scope;
    before_start_probe p;
    run_virtual(before_start_main(&p));
    REQUIRE(p.accepted);
    REQUIRE_FALSE(p.ran);
    REQUIRE(p.raised);
    REQUIRE(p.cancelled);
    REQUIRE(p.alive_after == 0); // its frame (and parameter) are gone with the last handle
    REQUIRE(lifetime_scope::balanced());
}

asyncio::task<int> cancel_self_then_return(std::vector<std::string>* log) {
    const bool accepted = asyncio::current_task().cancel();
    log->emplace_back(accepted ? "after cancel" : "cancel refused");
    co_return 5;
}

struct self_cancel_probe {
    std::vector<std::string> log;
    bool raised = false;
    bool cancelled = false;
};

asyncio::task<void> self_cancel_return_main(self_cancel_probe* p) {
    auto h = asyncio::create_task(cancel_self_then_return(&p->log));
    try {
        static_cast<void>(co_await h);
    } catch (const asyncio::cancelled_error&) {
        p->raised = true;
    }
    p->cancelled = h.cancelled();
}

TEST_CASE("cancel: a task that cancels itself and then returns ends cancelled") {
    // py: "8 awaiting raised CancelledError", "8 log ['after cancel'] cancelled True"
    self_cancel_probe p;
    run_virtual(self_cancel_return_main(&p));
    REQUIRE(p.log == std::vector<std::string>{"after cancel"});
    REQUIRE(p.raised);
    REQUIRE(p.cancelled);
}

asyncio::task<void> cancel_self_then_sleep(sleeper_probe* p) {
    static_cast<void>(asyncio::current_task().cancel());
    co_await sleep_long(p);
}

asyncio::task<void> self_cancel_sleep_main(sleeper_probe* sp, bool* cancelled) {
    auto h = asyncio::create_task(cancel_self_then_sleep(sp));
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        *cancelled = h.cancelled();
    }
}

TEST_CASE("cancel: a task that cancels itself and then awaits has that await cancelled at once") {
    // py: "9 log [('sleep cancelled at', 0.00016...)] cancelled True" (no time passes)
    sleeper_probe sp;
    bool cancelled = false;
    run_virtual(self_cancel_sleep_main(&sp, &cancelled));
    REQUIRE(sp.cancelled);
    REQUIRE_FALSE(sp.woke_normally);
    REQUIRE(sp.at == 0.0);
    REQUIRE(cancelled);
}

asyncio::task<void> cancel_self_then_await(asyncio::task_handle<void> inner) {
    static_cast<void>(asyncio::current_task().cancel());
    co_await inner;
}

struct nested_probe {
    bool outer_cancelled = false;
    bool inner_cancelled = false;
};

asyncio::task<void> self_cancel_await_task_main(sleeper_probe* sp, nested_probe* p) {
    auto inner = asyncio::create_task(sleep_long(sp));
    auto outer = asyncio::create_task(cancel_self_then_await(inner));
    try {
        co_await outer;
    } catch (const asyncio::cancelled_error&) {
        p->outer_cancelled = outer.cancelled();
    }
    p->inner_cancelled = inner.cancelled();
}

TEST_CASE("cancel: a task that cancels itself and then awaits a task cancels that task too") {
    // py: "9b log ['inner cancelled'] outer cancelled True inner cancelled True"
    sleeper_probe sp;
    nested_probe p;
    run_virtual(self_cancel_await_task_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(sp.at == 0.0);
    REQUIRE(p.outer_cancelled);
    REQUIRE(p.inner_cancelled);
}

// ---- propagation into an awaited task ---------------------------------------------------------

asyncio::task<int> await_inner(asyncio::task_handle<int> inner, std::vector<std::string>* log) {
    const int v = co_await inner;
    log->push_back("outer got " + std::to_string(v));
    co_return v + 1;
}

asyncio::task<int> sleep_long_int(sleeper_probe* p) {
    co_await sleep_long(p);
    co_return 0;
}

struct propagation_probe {
    std::vector<std::string> log;
    bool outer_raised = false;
    bool outer_cancelled = false;
    bool inner_cancelled = false;
    int result = 0;
    int outer_cancelling = -1;
    int inner_cancelling = -1;
};

asyncio::task<void> propagate_main(sleeper_probe* sp, propagation_probe* p) {
    auto inner = asyncio::create_task(sleep_long_int(sp));
    auto outer = asyncio::create_task(await_inner(inner, &p->log));
    co_await asyncio::sleep(0ms);
    static_cast<void>(outer.cancel());
    try {
        static_cast<void>(co_await outer);
    } catch (const asyncio::cancelled_error&) {
        p->outer_raised = true;
    }
    p->outer_cancelled = outer.cancelled();
    p->inner_cancelled = inner.cancelled();
}

TEST_CASE("cancel: cancelling a task that awaits another task cancels the awaited task") {
    // py: "10 log ['inner cancelled'] outer cancelled True inner cancelled True"
    sleeper_probe sp;
    propagation_probe p;
    run_virtual(propagate_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(p.outer_raised);
    REQUIRE(p.outer_cancelled);
    REQUIRE(p.inner_cancelled);
    REQUIRE(p.log.empty());
}

asyncio::task<void> inner_swallows_main(sleeper_probe* sp, propagation_probe* p) {
    auto inner = asyncio::create_task(swallow(sp));
    auto outer = asyncio::create_task(await_inner(inner, &p->log));
    co_await asyncio::sleep(0ms);
    static_cast<void>(outer.cancel());
    p->result = co_await outer;
    p->outer_cancelled = outer.cancelled();
    p->inner_cancelled = inner.cancelled();
    p->outer_cancelling = outer.cancelling();
    p->inner_cancelling = inner.cancelling();
}

TEST_CASE("cancel: when the awaited task swallows the cancellation the outer gets its value") {
    // py: "10b 8 ['caught', ('outer got', 7)] outer cancelled False outer cancelling 1 inner
    // cancelling 1"
    sleeper_probe sp;
    propagation_probe p;
    run_virtual(inner_swallows_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(p.log == std::vector<std::string>{"outer got 7"});
    REQUIRE(p.result == 8);
    REQUIRE_FALSE(p.outer_cancelled);
    REQUIRE_FALSE(p.inner_cancelled);
    REQUIRE(p.outer_cancelling == 1);
    REQUIRE(p.inner_cancelling == 1);
}

asyncio::task<int> await_future(asyncio::future<int> f) {
    co_return co_await f;
}

struct future_probe {
    bool future_cancelled = false;
    bool task_cancelled = false;
};

asyncio::task<void> blocked_on_future_main(future_probe* p) {
    auto fut = asyncio::get_running_loop().create_future<int>();
    auto h = asyncio::create_task(await_future(fut));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel("m"));
    try {
        static_cast<void>(co_await h);
    } catch (const asyncio::cancelled_error&) {
        p->task_cancelled = h.cancelled();
    }
    p->future_cancelled = fut.cancelled();
}

TEST_CASE("cancel: cancelling a task blocked on a future cancels that future") {
    // py: "fut cancelled True task cancelled True"
    future_probe p;
    run_virtual(blocked_on_future_main(&p));
    REQUIRE(p.future_cancelled);
    REQUIRE(p.task_cancelled);
}

// ---- a timer that already fired ---------------------------------------------------------------

asyncio::task<void> sleep_10ms(sleeper_probe* p) {
    try {
        co_await asyncio::sleep(10ms);
        p->woke_normally = true;
    } catch (const asyncio::cancelled_error&) {
        p->cancelled = true;
        throw;
    }
}

struct fired_probe {
    bool accepted = false;
    bool cancelled = false;
};

asyncio::task<void> timer_fired_main(sleeper_probe* sp, fired_probe* p) {
    auto h = asyncio::create_task(sleep_10ms(sp));
    co_await asyncio::sleep(0ms); // the sleeper registers its timer (deadline 10 ms)
    // Same deadline, registered later: it fires right after the sleeper's timer, in the same
    // iteration, when the sleeper's wake-up is already queued but has not run.
    static_cast<void>(asyncio::get_running_loop().call_later(
        10ms, [h, p]() mutable { p->accepted = h.cancel(); }));
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        p->cancelled = h.cancelled();
    }
}

TEST_CASE("cancel: a timer that already fired does not save a sleeping task") {
    // py (cancel_timer_fired.py): "[('cancel returns', True), 'cancelled'] cancelled True"
    sleeper_probe sp;
    fired_probe p;
    run_virtual(timer_fired_main(&sp, &p));
    REQUIRE(p.accepted);
    REQUIRE_FALSE(sp.woke_normally);
    REQUIRE(sp.cancelled);
    REQUIRE(p.cancelled);
}

// ---- uncancel ---------------------------------------------------------------------------------

struct uncancel_probe {
    int cancelling_after_two = -1;
    int first = -1;
    int second = -1;
    int third = -1;
    int cancelling_at_end = -1;
    int result = 0;
    bool cancelled = true;
};

asyncio::task<void> uncancel_counts_main(sleeper_probe* sp, uncancel_probe* p) {
    auto h = asyncio::create_task(swallow(sp));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel());
    static_cast<void>(h.cancel());
    p->cancelling_after_two = h.cancelling();
    co_await asyncio::sleep(0ms); // h swallows the cancellation and sits in its sleep(0)
    p->first = h.uncancel();
    p->second = h.uncancel();
    p->third = h.uncancel();
    p->cancelling_at_end = h.cancelling();
    p->result = co_await h;
    p->cancelled = h.cancelled();
}

TEST_CASE("uncancel: decrements the counter without going below 0 and returns the new value") {
    // py: "12 cancelling 2", "12 uncancel -> 1 0 0 cancelling 0", "12 result 7 cancelled False"
    sleeper_probe sp;
    uncancel_probe p;
    run_virtual(uncancel_counts_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(p.cancelling_after_two == 2);
    REQUIRE(p.first == 1);
    REQUIRE(p.second == 0);
    REQUIRE(p.third == 0);
    REQUIRE(p.cancelling_at_end == 0);
    REQUIRE(p.result == 7);
    REQUIRE_FALSE(p.cancelled);
}

struct clear_probe {
    bool accepted = false;
    int after_uncancel = -1;
    int result = 0;
    bool ran = false;
    bool cancelled = true;
};

asyncio::task<void> uncancel_clears_main(clear_probe* p) {
    auto h = asyncio::create_task(mark_ran(&p->ran, tracked(0)));
    p->accepted = h.cancel();
    p->after_uncancel = h.uncancel();
    p->result = co_await h;
    p->cancelled = h.cancelled();
}

TEST_CASE("uncancel: reaching 0 clears a pending cancel request so the body runs normally") {
    // py (3.13): "13 True 0", "13 result 1 ['body ran'] False"
    clear_probe p;
    run_virtual(uncancel_clears_main(&p));
    REQUIRE(p.accepted);
    REQUIRE(p.after_uncancel == 0);
    REQUIRE(p.ran);
    REQUIRE(p.result == 1);
    REQUIRE_FALSE(p.cancelled);
}

// ---- a cancelled task's result ----------------------------------------------------------------

asyncio::task<void> cancelled_result_main(sleeper_probe* sp) {
    auto h = asyncio::create_task(sleep_long(sp));
    co_await asyncio::sleep(0ms);
    static_cast<void>(h.cancel());
    bool raised = false;
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        raised = true;
    }
    REQUIRE(raised);
    REQUIRE(h.done());
    REQUIRE(h.cancelled());
    REQUIRE_THROWS_AS(h.result(), asyncio::cancelled_error);
    REQUIRE_THROWS_AS(h.exception(), asyncio::cancelled_error);
    // cancel() without a message: both carry CancelledError() with no args.
    std::string from_result = "<not raised>";
    std::string from_exception = "<not raised>";
    try {
        static_cast<void>(h.result());
    } catch (const asyncio::cancelled_error& e) {
        from_result = e.message();
    }
    try {
        static_cast<void>(h.exception());
    } catch (const asyncio::cancelled_error& e) {
        from_exception = e.message();
    }
    CHECK(from_result.empty());
    CHECK(from_exception.empty());
}

TEST_CASE("cancel: result() and exception() of a cancelled task raise cancelled_error") {
    // py: "6 result() args ()", "6 exception() args ()" (both raise CancelledError)
    sleeper_probe sp;
    run_virtual(cancelled_result_main(&sp));
    REQUIRE(sp.cancelled);
}

// ---- lazily awaited chains --------------------------------------------------------------------

asyncio::task<int> level(int n, std::vector<int>* unwound, tracked t) {
    static_cast<void>(t);
    try {
        if (n == 0) {
            co_await asyncio::sleep(1h);
            co_return 0;
        }
        co_return 1 + co_await level(n - 1, unwound, tracked(n));
    } catch (const asyncio::cancelled_error&) {
        unwound->push_back(n);
        throw;
    }
}

asyncio::task<int> chain_top(std::vector<int>* unwound) {
    co_return co_await level(3, unwound, tracked(4));
}

struct chain_probe {
    std::vector<int> unwound;
    long alive_while_blocked = -1;
    long alive_after = -1;
    bool cancelled = false;
};

asyncio::task<void> lazy_chain_main(chain_probe* p) {
    auto h = asyncio::create_task(chain_top(&p->unwound));
    co_await asyncio::sleep(0ms);
    p->alive_while_blocked = lifetime_counter::alive();
    static_cast<void>(h.cancel());
    try {
        static_cast<void>(co_await h);
    } catch (const asyncio::cancelled_error&) {
        p->cancelled = h.cancelled();
    }
    p->alive_after = lifetime_counter::alive();
}

TEST_CASE("cancel: a lazily awaited chain is cancelled at its innermost await and fully unwound") {
    // py (cancel_timer_fired.py): "chain unwound innermost first [0, 1, 2, 3] True"
    lifetime_scope scope;
    chain_probe p;
    run_virtual(lazy_chain_main(&p));
    REQUIRE(p.unwound == std::vector<int>{0, 1, 2, 3});
    REQUIRE(p.cancelled);
    REQUIRE(p.alive_while_blocked >= 4); // one parameter per lazy frame, at least
    REQUIRE(p.alive_after == 0);         // every lazy frame was destroyed as the chain unwound
    REQUIRE(lifetime_scope::balanced());
}

// ---- timers -----------------------------------------------------------------------------------

struct timer_probe {
    bool raised = false;
    std::size_t timers_while_sleeping = 0;
    std::size_t timers_after = 99;
    double time_after = -1.0;
};

asyncio::task<void> cancelled_sleep_main(sleeper_probe* sp, timer_probe* p) {
    auto& loop = asyncio::get_running_loop();
    auto h = asyncio::create_task(sleep_long(sp));
    co_await asyncio::sleep(0ms);
    p->timers_while_sleeping = loop.pending_timers();
    static_cast<void>(h.cancel());
    try {
        co_await h;
    } catch (const asyncio::cancelled_error&) {
        p->raised = true;
    }
    p->timers_after = loop.pending_timers();
    p->time_after = now_seconds();
}

TEST_CASE("cancel: a cancelled sleep removes its timer") {
    // CPython's sleep() cancels its timer handle in a `finally` block (tasks.py).
    sleeper_probe sp;
    timer_probe p;
    run_virtual(cancelled_sleep_main(&sp, &p));
    REQUIRE(sp.cancelled);
    REQUIRE(p.raised);
    REQUIRE(p.timers_while_sleeping == 1);
    REQUIRE(p.timers_after == 0);
    REQUIRE(p.time_after == 0.0);
}

} // namespace

namespace {

asyncio::task<> sleep_a_second() {
    co_await asyncio::sleep(std::chrono::seconds(1));
}

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const asyncio::cancelled_error& c) {
        return "'" + c.message() + "'";
    } catch (...) {
        return "not cancelled_error";
    }
}

template <class Aw> asyncio::task<std::string> awaited_message(Aw aw) {
    try {
        co_await aw;
    } catch (const asyncio::cancelled_error& e) {
        co_return "'" + e.message() + "'";
    }
    co_return "no cancellation";
}

asyncio::task<> message_once(std::vector<std::string>* log) {
    auto& loop = asyncio::get_running_loop();
    auto t = asyncio::create_task(sleep_a_second());
    co_await asyncio::sleep(std::chrono::seconds(0));
    t.cancel("m7");
    for (int i = 0; i < 3; ++i) {
        log->push_back("await " + std::to_string(i) + " " + co_await awaited_message(t));
    }
    try {
        t.result();
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("result '" + e.message() + "'");
    }
    auto f = loop.create_future<void>();
    f.cancel("fm");
    for (int i = 0; i < 2; ++i) {
        log->push_back("future await " + std::to_string(i) + " " + co_await awaited_message(f));
    }
    auto t2 = asyncio::create_task(sleep_a_second());
    co_await asyncio::sleep(std::chrono::seconds(0));
    t2.cancel("m8");
    auto f2 = loop.create_future<void>();
    f2.cancel("fm2");
    auto [o1, o2] = co_await asyncio::gather(asyncio::return_exceptions, t2, f2);
    log->push_back("gather outcomes [" + message_of(o1.exception()) + ", " +
                   message_of(o2.exception()) + "]");
    log->push_back("t2 after gather " + co_await awaited_message(t2));
    auto t3 = asyncio::create_task(sleep_a_second());
    co_await asyncio::sleep(std::chrono::seconds(0));
    t3.cancel("m9");
    try {
        (void)co_await asyncio::gather(t3);
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("gather raised '" + e.message() + "'");
    }
    log->push_back("t3 after gather " + co_await awaited_message(t3));
}

} // namespace

// py: tests/py/cancel_message_once.py (CPython's message strings: '' where it prints ())
TEST_CASE("cancellation: a cancelled task hands its message out once, a future every time, and "
          "gather's return_exceptions slot of a cancelled task has an empty message") {
    std::vector<std::string> log;
    asyncio::testing::run_virtual(message_once(&log));
    CHECK(log == std::vector<std::string>{"await 0 'm7'", "await 1 ''", "await 2 ''", "result ''",
                                          "future await 0 'fm'", "future await 1 'fm'",
                                          "gather outcomes ['', 'fm2']", "t2 after gather 'm8'",
                                          "gather raised 'm9'", "t3 after gather ''"});
}
