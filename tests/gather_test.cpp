// SPDX-License-Identifier: MIT
// Tests for gather.hpp: result order, child start order, failure and cancellation rules, outcomes,
// range and empty forms, hop counts and lifetimes.
//
// Expected behaviour was checked against CPython 3.13.0 (asyncio-semantics.md section 3) with twin
// scripts kept outside the repo; their output is quoted in the `//` comments ("py:").

#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::captured_reports;
using asyncio::testing::lifetime_counter;
using asyncio::testing::lifetime_scope;
using asyncio::testing::now_seconds;
using asyncio::testing::run_virtual;
using asyncio::testing::ticker;
using asyncio::testing::ticker_state;
using asyncio::testing::tracked;

namespace {

using log_t = std::vector<std::string>;

asyncio::task<int> value(int v) {
    co_return v;
}

asyncio::task<int> value_after(std::chrono::milliseconds d, int v, log_t* log) {
    co_await asyncio::sleep(d);
    if (log != nullptr) {
        log->push_back("done " + std::to_string(v));
    }
    co_return v;
}

asyncio::task<int> fail_after(std::chrono::milliseconds d, std::string msg, log_t* log) {
    co_await asyncio::sleep(d);
    if (log != nullptr) {
        log->push_back("fail " + msg);
    }
    throw std::runtime_error(msg);
}

asyncio::task<void> forever(log_t* log, std::string name) {
    try {
        co_await asyncio::sleep(1h);
    } catch (const asyncio::cancelled_error&) {
        log->push_back(name + " cancelled");
        throw;
    }
}

bool holds_cancelled_error(const std::exception_ptr& e) {
    if (!e) {
        return false;
    }
    try {
        std::rethrow_exception(e);
    } catch (const asyncio::cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

// ---- order ------------------------------------------------------------------------------------

asyncio::task<void> order_main(log_t* finish_order, std::vector<int>* results) {
    auto [a, b, c] = co_await asyncio::gather(value_after(30ms, 1, finish_order),
                                              value_after(10ms, 2, finish_order),
                                              value_after(20ms, 3, finish_order));
    results->push_back(a);
    results->push_back(b);
    results->push_back(c);
}

TEST_CASE("gather: results come in argument order whatever the finish order") {
    // py: "order [1, 2, 3] finish [2, 3, 1]"
    log_t finish_order;
    std::vector<int> results;
    run_virtual(order_main(&finish_order, &results));
    REQUIRE(finish_order == log_t{"done 2", "done 3", "done 1"});
    REQUIRE(results == std::vector<int>{1, 2, 3});
}

asyncio::task<std::string> starter(std::string name, log_t* log) {
    log->push_back(name);
    co_return name;
}

struct start_probe {
    log_t at_call;
    log_t after_one_iteration;
    std::string results;
};

asyncio::task<void> start_order_main(start_probe* p) {
    log_t log;
    auto g = asyncio::gather(starter("a", &log), starter("b", &log), starter("c", &log));
    p->at_call = log;
    co_await asyncio::sleep(0ms); // the gather is not awaited yet: the children run anyway
    p->after_one_iteration = log;
    // Awaited as an lvalue: g++ 12 copies an xvalue awaiter, and gather's is not copyable.
    auto [a, b, c] = co_await g;
    p->results = a + b + c;
}

TEST_CASE("gather: children start as tasks at the gather call in argument order") {
    // py: "started at call? []", "after sleep(0) ['a', 'b', 'c']", "['a', 'b', 'c']"
    start_probe p;
    run_virtual(start_order_main(&p));
    REQUIRE(p.at_call.empty());
    REQUIRE(p.after_one_iteration == log_t{"a", "b", "c"});
    REQUIRE(p.results == "abc");
}

// ---- failures ---------------------------------------------------------------------------------

struct first_error_probe {
    std::string what;
    double raised_at = -1.0;
    log_t log_when_raised;
    log_t log_later;
};

asyncio::task<void> first_error_main(first_error_probe* p) {
    log_t log;
    try {
        static_cast<void>(co_await asyncio::gather(fail_after(10ms, "first", &log),
                                                   value_after(30ms, 7, &log),
                                                   fail_after(20ms, "second", &log)));
    } catch (const std::runtime_error& e) {
        p->what = e.what();
        p->raised_at = now_seconds();
        p->log_when_raised = log;
    }
    co_await asyncio::sleep(50ms);
    p->log_later = log;
}

TEST_CASE("gather: the first exception propagates while the other children run to completion") {
    // py: "raised first at ms 10 log ['fail first']",
    //     "later log ['fail first', 'fail second', 'ok']" and no handler call for "second"
    captured_reports reports;
    first_error_probe p;
    run_virtual(first_error_main(&p), &reports);
    REQUIRE(p.what == "first");
    REQUIRE(p.raised_at == 0.01);
    REQUIRE(p.log_when_raised == log_t{"fail first"});
    REQUIRE(p.log_later == log_t{"fail first", "fail second", "done 7"});
    REQUIRE(reports.items.empty()); // gather retrieved the later exception too
}

struct outcome_probe {
    bool p_has_value = true;
    bool p_as_bool = true;
    std::string p_what;
    std::string p_value_what;
    bool q_has_value = false;
    bool q_as_bool = false;
    int q_value = 0;
    bool q_exception_null = false;
    double done_at = -1.0;
};

asyncio::task<void> return_exceptions_main(outcome_probe* p) {
    auto [po, qo] = co_await asyncio::gather(
        asyncio::return_exceptions, fail_after(10ms, "p", nullptr), value_after(20ms, 2, nullptr));
    static_assert(std::is_same_v<decltype(po), asyncio::outcome<int>>);
    p->done_at = now_seconds();
    p->p_has_value = po.has_value();
    p->p_as_bool = static_cast<bool>(po);
    try {
        std::rethrow_exception(po.exception());
    } catch (const std::runtime_error& e) {
        p->p_what = e.what();
    }
    try {
        static_cast<void>(po.value());
    } catch (const std::runtime_error& e) {
        p->p_value_what = e.what();
    }
    p->q_has_value = qo.has_value();
    p->q_as_bool = static_cast<bool>(qo);
    p->q_value = qo.value();
    p->q_exception_null = (qo.exception() == nullptr);
}

TEST_CASE("gather: return_exceptions gives an outcome per child and waits for every child") {
    // py: "return_exceptions [RuntimeError('p'), 'q'] at ms 21" (wall clock; 20 ms virtual)
    captured_reports reports;
    outcome_probe p;
    run_virtual(return_exceptions_main(&p), &reports);
    REQUIRE_FALSE(p.p_has_value);
    REQUIRE_FALSE(p.p_as_bool);
    REQUIRE(p.p_what == "p");
    REQUIRE(p.p_value_what == "p");
    REQUIRE(p.q_has_value);
    REQUIRE(p.q_as_bool);
    REQUIRE(p.q_value == 2);
    REQUIRE(p.q_exception_null);
    REQUIRE(p.done_at == 0.02);
    REQUIRE(reports.items.empty());
}

asyncio::task<void> nothing() {
    co_return;
}

asyncio::task<void> sets_flag(bool* ran) {
    *ran = true;
    co_return;
}

asyncio::task<void> void_child_main(int* value_slot, bool* void_child_ran) {
    auto r = co_await asyncio::gather(sets_flag(void_child_ran), value(5));
    // The slot's type is the check that it holds asyncio::none (an empty type: no value to test).
    static_assert(std::is_same_v<decltype(r), std::tuple<asyncio::none, int>>);
    *value_slot = std::get<1>(r);
}

TEST_CASE("gather: a void child gives asyncio::none in its slot") {
    // py: a coroutine returning nothing gives None in gather's list
    int value_slot = 0;
    bool void_child_ran = false;
    run_virtual(void_child_main(&value_slot, &void_child_ran));
    REQUIRE(void_child_ran);
    REQUIRE(value_slot == 5);
}

// ---- ranges and empty forms -------------------------------------------------------------------

struct range_probe {
    std::vector<int> from_tasks;
    std::vector<int> from_handles;
    std::vector<bool> has_value;
    std::string failure;
    std::size_t voids = 0;
};

asyncio::task<void> range_main(range_probe* p) {
    std::vector<asyncio::task<int>> tasks;
    tasks.push_back(value_after(30ms, 10, nullptr));
    tasks.push_back(value_after(10ms, 11, nullptr));
    tasks.push_back(value(12));
    p->from_tasks = co_await asyncio::gather(std::move(tasks));

    std::vector<asyncio::task_handle<int>> handles;
    for (int i = 0; i < 4; ++i) {
        handles.push_back(asyncio::create_task(
            value_after(std::chrono::milliseconds(40 - 10 * i), 20 + i, nullptr)));
    }
    p->from_handles = co_await asyncio::gather(handles);

    std::vector<asyncio::task<int>> mixed;
    mixed.push_back(value(30));
    mixed.push_back(fail_after(5ms, "range failure", nullptr));
    std::vector<asyncio::outcome<int>> outcomes =
        co_await asyncio::gather(asyncio::return_exceptions, std::move(mixed));
    for (auto& o : outcomes) {
        p->has_value.push_back(o.has_value());
    }
    try {
        std::rethrow_exception(outcomes.at(1).exception());
    } catch (const std::runtime_error& e) {
        p->failure = e.what();
    }

    std::vector<asyncio::task<void>> voids;
    voids.push_back(nothing());
    voids.push_back(nothing());
    const std::vector<asyncio::none> nones = co_await asyncio::gather(std::move(voids));
    p->voids = nones.size();
}

TEST_CASE("gather: the range form returns a vector in range order") {
    range_probe p;
    run_virtual(range_main(&p));
    REQUIRE(p.from_tasks == std::vector<int>{10, 11, 12});
    REQUIRE(p.from_handles == std::vector<int>{20, 21, 22, 23});
    REQUIRE(p.has_value == std::vector<bool>{true, false});
    REQUIRE(p.failure == "range failure");
    REQUIRE(p.voids == 2);
}

struct no_suspend_probe {
    int before = -1;
    int after_no_args = -1;
    int after_empty_range = -1;
    std::size_t empty_size = 99;
};

asyncio::task<void> empty_main(ticker_state* ts, no_suspend_probe* p) {
    auto tick = asyncio::create_task(ticker(ts));
    co_await asyncio::sleep(0ms);
    p->before = ts->ticks;
    auto none_at_all = co_await asyncio::gather();
    static_assert(std::is_same_v<decltype(none_at_all), std::tuple<>>);
    p->after_no_args = ts->ticks;
    std::vector<asyncio::task<int>> empty;
    const std::vector<int> r = co_await asyncio::gather(std::move(empty));
    p->empty_size = r.size();
    p->after_empty_range = ts->ticks;
    ts->stop = true;
    co_await tick;
}

TEST_CASE("gather: no arguments or an empty range completes without suspending") {
    // py (gather_test.py): "no args [] ticks 1 1", "empty [] ticks 1 1"
    ticker_state ts;
    no_suspend_probe p;
    run_virtual(empty_main(&ts, &p));
    REQUIRE(p.before == 1);
    REQUIRE(p.after_no_args == 1);
    REQUIRE(p.after_empty_range == 1);
    REQUIRE(p.empty_size == 0);
}

struct finished_probe {
    bool all_done = false;
    int before = -1;
    int after = -1;
    int sum = 0;
};

asyncio::task<void> finished_children_main(ticker_state* ts, finished_probe* p) {
    auto tick = asyncio::create_task(ticker(ts));
    auto h1 = asyncio::create_task(value(1));
    auto h2 = asyncio::create_task(value(2));
    co_await asyncio::sleep(0ms);
    p->all_done = h1.done() && h2.done();
    p->before = ts->ticks;
    auto [a, b] = co_await asyncio::gather(h1, h2);
    p->after = ts->ticks;
    p->sum = a + 10 * b;
    ts->stop = true;
    co_await tick;
}

TEST_CASE("gather: gathering only finished handles does not suspend") {
    // py 3.13 (gather_test.py): "finished handles [1, 2] done True ticks 1 1"; tests/py/hops.py:
    // ('gather of finished tasks', 0, [1, 2])
    // (py 3.11 prints "ticks 1 3": 3.12+ counts done children at the call)
    ticker_state ts;
    finished_probe p;
    run_virtual(finished_children_main(&ts, &p));
    REQUIRE(p.all_done);
    REQUIRE(p.sum == 21);
    REQUIRE(p.before == 1);
    REQUIRE(p.after == 1);
}

// ---- cancellation -----------------------------------------------------------------------------

asyncio::task<void> gather_forever(log_t* log) {
    static_cast<void>(co_await asyncio::gather(forever(log, "a"), forever(log, "b")));
}

asyncio::task<void> gather_forever_return_exceptions(log_t* log) {
    static_cast<void>(
        co_await asyncio::gather(asyncio::return_exceptions, forever(log, "a"), forever(log, "b")));
}

struct cancel_awaiter_probe {
    log_t log;
    bool raised = false;
    bool cancelled = false;
};

asyncio::task<void> cancel_awaiter_main(cancel_awaiter_probe* p, bool with_return_exceptions) {
    auto w = with_return_exceptions
                 ? asyncio::create_task(gather_forever_return_exceptions(&p->log))
                 : asyncio::create_task(gather_forever(&p->log));
    co_await asyncio::sleep(0ms);
    co_await asyncio::sleep(0ms);
    static_cast<void>(w.cancel());
    try {
        co_await w;
    } catch (const asyncio::cancelled_error&) {
        p->raised = true;
    }
    p->cancelled = w.cancelled();
}

TEST_CASE("gather: cancelling the task that awaits gather cancels every child") {
    // py: "cancel awaiter rex False -> ['a cancelled', 'b cancelled'] cancelled True"
    cancel_awaiter_probe p;
    run_virtual(cancel_awaiter_main(&p, false));
    REQUIRE(p.log == log_t{"a cancelled", "b cancelled"});
    REQUIRE(p.raised);
    REQUIRE(p.cancelled);
}

TEST_CASE("gather: with return_exceptions a cancelled awaiter still gets cancelled_error") {
    // py: "cancel awaiter rex True -> ['a cancelled', 'b cancelled'] cancelled True"
    cancel_awaiter_probe p;
    run_virtual(cancel_awaiter_main(&p, true));
    REQUIRE(p.log == log_t{"a cancelled", "b cancelled"});
    REQUIRE(p.raised);
    REQUIRE(p.cancelled);
}

struct cancelled_child_probe {
    bool raised = false;
    std::string message = "<none>";
    int my_cancelling = -1;
    bool other_done_when_raised = true;
    int other_result = 0;
    bool slot_is_cancelled_error = false;
    bool slot_has_value = true;
};

asyncio::task<void> cancelled_child_main(cancelled_child_probe* p) {
    log_t log;
    auto child = asyncio::create_task(forever(&log, "child"));
    auto other = asyncio::create_task(value_after(10ms, 5, nullptr));
    co_await asyncio::sleep(0ms);
    static_cast<void>(child.cancel("bye"));
    try {
        static_cast<void>(co_await asyncio::gather(child, other));
    } catch (const asyncio::cancelled_error& e) {
        p->raised = true;
        p->message = e.message();
    }
    p->my_cancelling = asyncio::current_task().cancelling();
    p->other_done_when_raised = other.done();
    p->other_result = co_await other;
}

TEST_CASE("gather: a cancelled child makes gather raise cancelled_error") {
    // py: "cancelled child raises CancelledError ('bye',) me cancelling 0 o done False"
    cancelled_child_probe p;
    run_virtual(cancelled_child_main(&p));
    REQUIRE(p.raised);
    CHECK(p.message == "bye");
    REQUIRE(p.my_cancelling == 0); // the awaiter itself was not cancelled
    REQUIRE_FALSE(p.other_done_when_raised);
    REQUIRE(p.other_result == 5);
}

asyncio::task<void> cancelled_child_outcome_main(cancelled_child_probe* p) {
    log_t log;
    auto child = asyncio::create_task(forever(&log, "child"));
    auto other = asyncio::create_task(value_after(10ms, 5, nullptr));
    co_await asyncio::sleep(0ms);
    static_cast<void>(child.cancel("bye"));
    auto [c, o] = co_await asyncio::gather(asyncio::return_exceptions, child, other);
    p->slot_has_value = c.has_value();
    p->slot_is_cancelled_error = holds_cancelled_error(c.exception());
    p->other_result = o.value();
}

TEST_CASE("gather: with return_exceptions a cancelled child's outcome holds cancelled_error") {
    // py: "cancelled child rex [CancelledError(''), 5]"
    cancelled_child_probe p;
    run_virtual(cancelled_child_outcome_main(&p));
    REQUIRE_FALSE(p.slot_has_value);
    REQUIRE(p.slot_is_cancelled_error);
    REQUIRE(p.other_result == 5);
}

// ---- kinds of children ------------------------------------------------------------------------

struct mixed_probe {
    int a = 0;
    int b = 0;
    int c = 0;
    double done_at = -1.0;
};

asyncio::task<void> mixed_main(mixed_probe* p) {
    auto& loop = asyncio::get_running_loop();
    auto fut = loop.create_future<int>();
    static_cast<void>(loop.call_later(20ms, [fut]() mutable { fut.set_result(3); }));
    auto h = asyncio::create_task(value_after(10ms, 2, nullptr));
    auto r = co_await asyncio::gather(value_after(5ms, 1, nullptr), h, fut, asyncio::sleep(30ms));
    static_assert(std::is_same_v<decltype(r), std::tuple<int, int, int, asyncio::none>>);
    p->a = std::get<0>(r);
    p->b = std::get<1>(r);
    p->c = std::get<2>(r);
    p->done_at = now_seconds();
}

TEST_CASE("gather: children may be lazy tasks or handles or futures or sleeps in one call") {
    // py: "mixed [1, 2, 3, None] 31" (wall clock; 30 ms virtual)
    mixed_probe p;
    run_virtual(mixed_main(&p));
    REQUIRE(p.a == 1);
    REQUIRE(p.b == 2);
    REQUIRE(p.c == 3);
    REQUIRE(p.done_at == 0.03);
}

asyncio::task<void> duplicates_main(std::vector<int>* out) {
    auto h = asyncio::create_task(value_after(10ms, 11, nullptr));
    auto [a, b, c] = co_await asyncio::gather(h, h, value_after(5ms, 22, nullptr));
    out->push_back(a);
    out->push_back(b);
    out->push_back(c);
}

TEST_CASE("gather: one handle passed twice fills both slots") {
    // py: "dups ['dup', 'dup', 'other']"
    std::vector<int> out;
    run_virtual(duplicates_main(&out));
    REQUIRE(out == std::vector<int>{11, 11, 22});
}

// ---- lifetimes --------------------------------------------------------------------------------

asyncio::task<tracked> tracked_after(std::chrono::milliseconds d, int v) {
    co_await asyncio::sleep(d);
    co_return tracked(v);
}

asyncio::task<tracked> tracked_fail(std::chrono::milliseconds d, tracked t) {
    co_await asyncio::sleep(d);
    throw std::runtime_error("tracked failure " + std::to_string(t.value));
}

struct lifetime_probe {
    int success_sum = 0;
    std::string failure;
    int outcome_value = 0;
    bool outcome_failed = false;
    int range_sum = 0;
    long alive_at_end = -1;
};

asyncio::task<void> lifetimes_main(lifetime_probe* p) {
    {
        auto [a, b] = co_await asyncio::gather(tracked_after(10ms, 1), tracked_after(5ms, 2));
        p->success_sum = a.value + 10 * b.value;
    }
    try {
        static_cast<void>(
            co_await asyncio::gather(tracked_after(10ms, 3), tracked_fail(5ms, tracked(4))));
    } catch (const std::runtime_error& e) {
        p->failure = e.what();
    }
    co_await asyncio::sleep(20ms); // the surviving child finishes and its result is dropped
    {
        auto [x, y] = co_await asyncio::gather(asyncio::return_exceptions, tracked_after(5ms, 5),
                                               tracked_fail(10ms, tracked(6)));
        p->outcome_value = x.value().value;
        p->outcome_failed = !y.has_value();
    }
    {
        std::vector<asyncio::task<tracked>> tasks;
        tasks.push_back(tracked_after(5ms, 7));
        tasks.push_back(tracked_after(1ms, 8));
        const std::vector<tracked> r = co_await asyncio::gather(std::move(tasks));
        p->range_sum = r.at(0).value + 10 * r.at(1).value;
    }
    p->alive_at_end = lifetime_counter::alive();
}

TEST_CASE("gather: tracked results and parameters are destroyed exactly once on every path") {
    lifetime_scope scope;
    captured_reports reports;
    lifetime_probe p;
    run_virtual(lifetimes_main(&p), &reports);
    REQUIRE(p.success_sum == 21);
    REQUIRE(p.failure == "tracked failure 4");
    REQUIRE(p.outcome_value == 5);
    REQUIRE(p.outcome_failed);
    REQUIRE(p.range_sum == 87);
    REQUIRE(p.alive_at_end == 0);
    REQUIRE(lifetime_scope::balanced());
    REQUIRE(reports.items.empty());
}

} // namespace

asyncio::task<void> bad_range_main(log_t* log, std::string* error, bool* last_untouched) {
    std::vector<asyncio::task<int>> tasks;
    tasks.push_back(value_after(1ms, 1, log));
    tasks.push_back(value_after(2ms, 2, log));
    tasks.push_back(value(3));
    (void)co_await tasks.back(); // consumed: the gather below cannot spawn it
    tasks.push_back(value_after(3ms, 4, log));
    try {
        auto g = asyncio::gather(tasks);
        *error = "none";
    } catch (const std::runtime_error& e) {
        *error = e.what();
    }
    co_await asyncio::sleep(10ms);
    *last_untouched = tasks[3].valid();
}

TEST_CASE("gather: a range holding an already awaited task raises, and the children spawned "
          "before it run on") {
    log_t log;
    std::string error;
    bool last_untouched = false;
    run_virtual(bad_range_main(&log, &error, &last_untouched));
    CHECK(error == "cannot reuse already awaited coroutine");
    // py: the tasks made before the bad argument run; the later coroutine is never started.
    CHECK(log == log_t{"done 1", "done 2"});
    CHECK(last_untouched);
}

// ---- cancel(), done(), cancelled() on the gather itself (issue 10, items 3 and 26) --------------

namespace {

asyncio::task<int> now_value(int x) {
    co_return x;
}

asyncio::task<int> value_in(std::chrono::milliseconds d, int x) {
    co_await asyncio::sleep(d);
    co_return x;
}

std::string args_of(const asyncio::cancelled_error& e) {
    return e.message().empty() ? "()" : "('" + e.message() + "',)";
}

asyncio::task<> gather_cancel_api(log_t* log) {
    auto yes_no = [](bool b) { return std::string(b ? "True" : "False"); };
    auto t = asyncio::create_task(value_in(0ms, 1));
    co_await asyncio::sleep(10ms);
    auto g = asyncio::gather(t, value_in(100ms, 2));
    log->push_back("g.done " + yes_no(g.done()) + " g.cancelled " + yes_no(g.cancelled()));
    auto [a, b] = co_await g;
    log->push_back("results [" + std::to_string(a) + ", " + std::to_string(b) + "]");
    log->push_back("after: cancel -> " + yes_no(g.cancel()) + " done " + yes_no(g.done()) +
                   " cancelled " + yes_no(g.cancelled()));

    auto g2 = asyncio::gather(value_in(1s, 3), value_in(1s, 4));
    log->push_back("g2.cancel('m') -> " + yes_no(g2.cancel("m")) + " done " + yes_no(g2.done()));
    log->push_back("g2.cancel('n') -> " + yes_no(g2.cancel("n")));
    try {
        (void)co_await g2;
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("g2 raised " + args_of(e) + " done " + yes_no(g2.done()) + " cancelled " +
                       yes_no(g2.cancelled()));
    }

    auto g3 = asyncio::gather(asyncio::return_exceptions, value_in(1s, 5), value_in(1s, 6));
    co_await asyncio::sleep(0s);
    log->push_back("g3.cancel -> " + yes_no(g3.cancel()));
    try {
        (void)co_await g3;
        log->push_back("g3 gave results");
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("g3 raised " + args_of(e));
    }

    auto a4 = asyncio::create_task(value_in(0ms, 7));
    auto g4 = asyncio::gather(a4, value_in(500ms, 8));
    co_await asyncio::sleep(600ms);
    const bool g4_done = g4.done();
    const bool g4_cancel = g4.cancel();
    auto [r7, r8] = co_await g4;
    log->push_back("g4 done " + yes_no(g4_done) + " cancel -> " + yes_no(g4_cancel) + " results [" +
                   std::to_string(r7) + ", " + std::to_string(r8) + "]");

    // Every child done, the gather not yet: cancel() finds no child to cancel.
    auto t5 = asyncio::create_task(now_value(9));
    auto g5 = asyncio::gather(t5);
    co_await asyncio::sleep(0s);
    log->push_back("g5 done " + yes_no(g5.done()) + " child done " + yes_no(t5.done()) +
                   " cancel -> " + yes_no(g5.cancel()));
    auto [r9] = co_await g5;
    log->push_back("g5 results [" + std::to_string(r9) + "]");
}

asyncio::task<std::string> swallow(log_t* log) {
    try {
        co_await asyncio::sleep(1s);
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("swallow saw " + args_of(e));
    }
    co_return "s";
}

asyncio::task<std::string> normal(log_t* log) {
    try {
        co_await asyncio::sleep(1s);
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("normal saw " + args_of(e));
        throw;
    }
    co_return "n";
}

asyncio::task<> gather_waiter(log_t* log, int order) {
    try {
        if (order == 0) {
            (void)co_await asyncio::gather(swallow(log), normal(log));
        } else if (order == 1) {
            (void)co_await asyncio::gather(normal(log), swallow(log));
        } else {
            (void)co_await asyncio::gather(swallow(log), swallow(log));
        }
    } catch (const asyncio::cancelled_error& e) {
        log->push_back("waiter saw " + args_of(e));
    }
}

asyncio::task<> gather_awaiter_cancelled(log_t* log) {
    for (int order = 0; order < 3; ++order) {
        auto w = asyncio::create_task(gather_waiter(log, order));
        co_await asyncio::sleep(10ms);
        log->push_back(std::string("cancel -> ") + (w.cancel("stop") ? "True" : "False"));
        co_await asyncio::sleep(10ms);
        log->push_back(std::string("w done ") + (w.done() ? "True" : "False") + " cancelled " +
                       (w.cancelled() ? "True" : "False"));
    }
}

} // namespace

// py: tests/py/issue10_gather_cancel.py (its first part), expected output beside it
TEST_CASE("gather: cancel() cancels the unfinished children and says whether any accepted") {
    log_t log;
    run_virtual(gather_cancel_api(&log));
    CHECK(log == log_t{"g.done False g.cancelled False", "results [1, 2]",
                       "after: cancel -> False done True cancelled False",
                       "g2.cancel('m') -> True done False", "g2.cancel('n') -> True",
                       "g2 raised ('n',) done True cancelled False", "g3.cancel -> True",
                       "g3 raised ()", "g4 done True cancel -> False results [7, 8]",
                       "g5 done False child done True cancel -> False", "g5 results [9]"});
}

// py: tests/py/issue10_gather_cancel.py (its second part)
TEST_CASE("gather: an awaiter cancelled while a child swallows the cancellation gets the "
          "message of the child that ended the gather") {
    log_t log;
    run_virtual(gather_awaiter_cancelled(&log));
    CHECK(log == log_t{"cancel -> True", "swallow saw ('stop',)", "normal saw ('stop',)",
                       "waiter saw ('stop',)", "w done True cancelled False", "cancel -> True",
                       "normal saw ('stop',)", "swallow saw ('stop',)", "waiter saw ('stop',)",
                       "w done True cancelled False", "cancel -> True", "swallow saw ('stop',)",
                       "swallow saw ('stop',)", "waiter saw ()", "w done True cancelled False"});
}

namespace {

asyncio::task<> drop_gather_when_child_finishes(bool* child_ran) {
    auto child = [](bool* ran) -> asyncio::task<int> {
        *ran = true;
        co_return 1;
    };
    auto t = asyncio::create_task(child(child_ran));
    {
        auto g = asyncio::gather(t);
        // t runs first in the next iteration and finishes: the gather's slot is then scheduled
        // for the iteration after, and the gather goes away before that entry runs.
        co_await asyncio::sleep(0s);
        REQUIRE(t.done());
        REQUIRE_FALSE(g.done());
    }
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
}

} // namespace

TEST_CASE("gather: a gather dropped in the iteration its child finished unschedules its slot") {
    bool ran = false;
    run_virtual(drop_gather_when_child_finishes(&ran));
    CHECK(ran);
}
