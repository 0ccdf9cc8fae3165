// SPDX-License-Identifier: MIT
// Tests for future<T> (future.hpp): result and exception states, cancel, awaiting, done
// callbacks, the never-retrieved report, and void, move-only and reference results.
#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Python observations quoted below are printed by tests/py/future_obs.py (CPython 3.13.0); the
// CTest case asyncio.py.future_obs checks that it still prints them (tests/py/future_obs.expected).

namespace {

using namespace std::chrono_literals;
using asyncio::cancelled_error;
using asyncio::clock_kind;
using asyncio::create_task;
using asyncio::event_loop;
using asyncio::exception_context;
using asyncio::future;
using asyncio::get_running_loop;
using asyncio::invalid_state_error;
using asyncio::sleep;
using asyncio::task;
using asyncio::testing::run_virtual;
using asyncio::testing::start_ticker;
using asyncio::testing::stop_ticker;
using asyncio::testing::ticker_state;

/// Runs exactly one iteration: stop() before run_forever() (asyncio-semantics 7.3).
void run_one_iteration(event_loop& loop) {
    loop.stop();
    loop.run_forever();
}

using asyncio::testing::what_of;

/// The message of the cancelled_error `f` throws, or a marker when it throws nothing.
template <class F> std::string cancel_message_of(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const cancelled_error& e) {
        return e.message();
    }
    return "<no cancelled_error>";
}

/// A loop whose exception handler records every report.
struct recording_loop {
    std::vector<exception_context> reports;
    event_loop loop{clock_kind::virtual_time};

    recording_loop() {
        loop.set_exception_handler(
            [this](event_loop&, const exception_context& c) { reports.push_back(c); });
    }
};

} // namespace

TEST_CASE("future: set_result makes it done and result returns the value", "[future]") {
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    CHECK(!f.done());
    CHECK(!f.cancelled());
    f.set_result(42);
    CHECK(f.done());
    CHECK(!f.cancelled());
    CHECK(f.result() == 42);
    CHECK(f.exception() == nullptr);
}

TEST_CASE("future: result of a pending future raises invalid_state_error", "[future]") {
    // CPython 3.13: InvalidStateError('Result is not set.').
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    REQUIRE_THROWS_AS(f.result(), invalid_state_error);
    REQUIRE_THROWS_WITH(f.result(), "Result is not set.");
}

TEST_CASE("future: exception of a pending future raises invalid_state_error", "[future]") {
    // CPython 3.13: InvalidStateError('Exception is not set.').
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    REQUIRE_THROWS_AS(f.exception(), invalid_state_error);
    REQUIRE_THROWS_WITH(f.exception(), "Exception is not set.");
}

TEST_CASE("future: completing a done future again raises invalid_state_error", "[future]") {
    // CPython 3.13: a second set_result raises InvalidStateError('invalid state').
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    SECTION("after set_result") {
        f.set_result(1);
        REQUIRE_THROWS_AS(f.set_result(2), invalid_state_error);
        REQUIRE_THROWS_AS(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                          invalid_state_error);
        CHECK(f.result() == 1);
    }
    SECTION("after set_exception") {
        f.set_exception(std::make_exception_ptr(std::runtime_error("first")));
        REQUIRE_THROWS_AS(f.set_result(2), invalid_state_error);
        CHECK(what_of(f.exception()) == "first");
    }
    SECTION("after cancel") {
        CHECK(f.cancel());
        REQUIRE_THROWS_AS(f.set_result(2), invalid_state_error);
        CHECK(f.cancelled());
    }
}

TEST_CASE("future: set_exception makes result rethrow it and exception return it", "[future]") {
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    f.set_exception(std::make_exception_ptr(std::out_of_range("bad index")));
    CHECK(f.done());
    CHECK(!f.cancelled());
    REQUIRE_THROWS_AS(f.result(), std::out_of_range);
    REQUIRE_THROWS_WITH(f.result(), "bad index");
    CHECK(what_of(f.exception()) == "bad index");
}

TEST_CASE("future: cancel returns true the first time and false afterwards", "[future]") {
    // CPython 3.13: cancel('why') -> True, cancel('again') -> False, cancel() of a done future
    // -> False.
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    CHECK(f.cancel("why"));
    CHECK(f.done());
    CHECK(f.cancelled());
    CHECK(!f.cancel("again"));

    auto g = loop.create_future<int>();
    g.set_result(5);
    CHECK(!g.cancel());
    CHECK(!g.cancelled());
    CHECK(g.result() == 5);
}

TEST_CASE("future: result and exception of a cancelled future raise cancelled_error with the "
          "message",
          "[future]") {
    // CPython 3.13: both raise CancelledError('why'); the second cancel message is ignored.
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    f.cancel("why");
    f.cancel("again");
    REQUIRE_THROWS_AS(f.result(), cancelled_error);
    REQUIRE_THROWS_AS(f.exception(), cancelled_error);
    CHECK(cancel_message_of([&f] { static_cast<void>(f.result()); }) == "why");
    CHECK(cancel_message_of([&f] { static_cast<void>(f.exception()); }) == "why");
}

TEST_CASE("future: copies share one state", "[future]") {
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    future<int> copy = f;
    copy.set_result(9);
    CHECK(f.done());
    CHECK(f.result() == 9);
}

namespace {
struct done_await_result {
    int value = 0;
    int ticks_elapsed = -1;
};
} // namespace

static task<done_await_result> await_done_future() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    auto f = get_running_loop().create_future<int>();
    f.set_result(5);
    done_await_result r;
    const int before = s.ticks;
    r.value = co_await f;
    r.ticks_elapsed = s.ticks - before;
    co_await stop_ticker(&s, std::move(tk));
    co_return r;
}

TEST_CASE("future: awaiting a done future does not suspend", "[future]") {
    // CPython 3.13: await of a done future gave the value 5 with a ticks delta of 0.
    const auto r = run_virtual(await_done_future());
    CHECK(r.value == 5);
    CHECK(r.ticks_elapsed == 0);
}

static task<void> wait_future(future<int> f, ticker_state* s, int* resumed_at, int* value) {
    *value = co_await f;
    *resumed_at = s->ticks;
}

static task<void> set_future_later(future<int> f, ticker_state* s, int* cause_at) {
    co_await sleep(0s);
    co_await sleep(0s);
    *cause_at = s->ticks;
    f.set_result(1);
}

static task<int> future_hops() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    auto f = get_running_loop().create_future<int>();
    int cause_at = -100;
    int resumed_at = -200;
    int value = 0;
    auto waiter = create_task(wait_future(f, &s, &resumed_at, &value));
    auto setter = create_task(set_future_later(f, &s, &cause_at));
    co_await waiter;
    co_await setter;
    co_await stop_ticker(&s, std::move(tk));
    co_return value == 1 ? resumed_at - cause_at : -1;
}

TEST_CASE("future: a task awaiting a future resumes one hop after set_result", "[future]") {
    // CPython 3.13: "future set_result -> waiter resumes at + 1".
    CHECK(run_virtual(future_hops()) == 1);
}

static task<std::string> await_cancelled_future() {
    auto f = get_running_loop().create_future<int>();
    f.cancel("stop it");
    std::string message = "<not cancelled>";
    try {
        static_cast<void>(co_await f);
    } catch (const cancelled_error& e) {
        message = e.message();
    }
    co_return message;
}

static task<std::string> await_failed_future() {
    auto f = get_running_loop().create_future<int>();
    f.set_exception(std::make_exception_ptr(std::runtime_error("failed future")));
    std::string message = "<no exception>";
    try {
        static_cast<void>(co_await f);
    } catch (const std::runtime_error& e) {
        message = e.what();
    }
    co_return message;
}

TEST_CASE("future: awaiting a cancelled future raises cancelled_error with the message",
          "[future]") {
    CHECK(run_virtual(await_cancelled_future()) == "stop it");
}

TEST_CASE("future: awaiting a failed future rethrows its exception", "[future]") {
    CHECK(run_virtual(await_failed_future()) == "failed future");
}

TEST_CASE("future: done callbacks are scheduled with call_soon in registration order, not inline",
          "[future]") {
    // CPython 3.13: nothing ran inside set_result, the ready queue held 3 entries (X, cb1, cb2),
    // and the run gave ['X', 'cb1:7', 'cb2', 'Y'].
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    auto f = loop.create_future<int>();
    loop.call_soon([&log] { log.emplace_back("X"); });
    f.add_done_callback(
        [&log](future<int>& fut) { log.push_back("cb1:" + std::to_string(fut.result())); });
    f.add_done_callback([&log](future<int>&) { log.emplace_back("cb2"); });
    CHECK(loop.ready_size() == 1U);

    f.set_result(7);

    CHECK(log.empty());
    CHECK(loop.ready_size() == 3U);
    loop.call_soon([&log] { log.emplace_back("Y"); });
    run_one_iteration(loop);
    const std::vector<std::string> expected{"X", "cb1:7", "cb2", "Y"};
    CHECK(log == expected);
}

TEST_CASE("future: add_done_callback on a done future still goes through call_soon", "[future]") {
    // CPython 3.13: nothing ran inline, then ['Z', 'late'].
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    auto f = loop.create_future<int>();
    f.set_result(1);
    loop.call_soon([&log] { log.emplace_back("Z"); });
    f.add_done_callback([&log](future<int>&) { log.emplace_back("late"); });
    CHECK(log.empty());
    CHECK(loop.ready_size() == 2U);
    run_one_iteration(loop);
    const std::vector<std::string> expected{"Z", "late"};
    CHECK(log == expected);
}

TEST_CASE("future: remove_done_callback returns 1 then 0 and the callback never runs", "[future]") {
    // CPython 3.13: remove_done_callback(cb) -> 1, then 0; nothing ran after set_result.
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    auto f = loop.create_future<int>();
    const auto removed = f.add_done_callback([&log](future<int>&) { log.emplace_back("removed"); });
    f.add_done_callback([&log](future<int>&) { log.emplace_back("kept"); });
    CHECK(f.remove_done_callback(removed) == 1U);
    CHECK(f.remove_done_callback(removed) == 0U);
    f.set_result(3);
    CHECK(loop.ready_size() == 1U);
    run_one_iteration(loop);
    const std::vector<std::string> expected{"kept"};
    CHECK(log == expected);
}

TEST_CASE("future: an exception never retrieved is reported when the last reference goes",
          "[future]") {
    // CPython 3.13: dropping one of two references reported nothing; dropping the last one
    // reported 'Future exception was never retrieved'.
    recording_loop r;
    {
        auto f = r.loop.create_future<int>();
        f.set_exception(std::make_exception_ptr(std::runtime_error("lost")));
        {
            const future<int> copy = f;
            CHECK(copy.done());
        }
        CHECK(r.reports.empty());
    }
    REQUIRE(r.reports.size() == 1U);
    CHECK(r.reports[0].message == "Future exception was never retrieved");
    CHECK(what_of(r.reports[0].exception) == "lost");
    CHECK(r.reports[0].task_name.empty());
}

TEST_CASE("future: a future without an exception is not reported when dropped", "[future]") {
    recording_loop r;
    {
        auto pending = r.loop.create_future<int>();
        auto with_result = r.loop.create_future<int>();
        with_result.set_result(1);
        auto cancelled = r.loop.create_future<int>();
        cancelled.cancel();
    }
    CHECK(r.reports.empty());
}

TEST_CASE("future: no report once exception or result was read", "[future]") {
    // CPython 3.13: after exception() or a result() that raised, dropping reported nothing.
    recording_loop r;
    {
        auto f = r.loop.create_future<int>();
        f.set_exception(std::make_exception_ptr(std::runtime_error("seen")));
        SECTION("exception() was read") {
            CHECK(what_of(f.exception()) == "seen");
        }
        SECTION("result() rethrew it") {
            REQUIRE_THROWS_AS(f.result(), std::runtime_error);
        }
    }
    CHECK(r.reports.empty());
}

static task<bool> await_failed_future_then_drop() {
    auto f = get_running_loop().create_future<int>();
    f.set_exception(std::make_exception_ptr(std::runtime_error("awaited")));
    bool caught = false;
    try {
        static_cast<void>(co_await f);
    } catch (const std::runtime_error&) {
        caught = true;
    }
    co_return caught;
}

TEST_CASE("future: no report once the exception was awaited", "[future]") {
    asyncio::testing::captured_reports reports;
    CHECK(run_virtual(await_failed_future_then_drop(), &reports));
    CHECK(reports.items.empty());
}

static task<int> await_void_future(future<void> f) {
    co_await f;
    co_return 1;
}

static task<bool> void_future_round_trip() {
    auto f = get_running_loop().create_future();
    auto waiter = create_task(await_void_future(f));
    co_await sleep(0s);
    const bool blocked = !waiter.done();
    f.set_result();
    const int value = co_await waiter;
    const bool ok = blocked && value == 1 && f.done();
    co_return ok;
}

TEST_CASE("future<void>: set_result without a value completes it and wakes the awaiter",
          "[future]") {
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future();
    CHECK(!f.done());
    f.set_result();
    CHECK(f.done());
    REQUIRE_NOTHROW(f.result());
    CHECK(f.exception() == nullptr);
    CHECK(run_virtual(void_future_round_trip()));
}

static task<int> take_unique(future<std::unique_ptr<int>> f) {
    std::unique_ptr<int> p = co_await std::move(f);
    co_return p ? *p : -1;
}

namespace {
struct unique_result {
    int seen_through_result = 0;
    int moved_out = 0;
    bool empty_after_move = false;
};
} // namespace

static task<unique_result> unique_future_round_trip() {
    auto f = get_running_loop().create_future<std::unique_ptr<int>>();
    auto taker = create_task(take_unique(f));
    co_await sleep(0s);
    f.set_result(std::make_unique<int>(7));
    unique_result r;
    r.seen_through_result = *f.result();
    r.moved_out = co_await taker;
    r.empty_after_move = f.result() == nullptr;
    co_return r;
}

TEST_CASE("future<unique_ptr>: co_await std::move(f) moves the value out", "[future]") {
    const auto r = run_virtual(unique_future_round_trip());
    CHECK(r.seen_through_result == 7);
    CHECK(r.moved_out == 7);
    CHECK(r.empty_after_move);
}

static task<int*> address_of_awaited(future<int&> f) {
    int& r = co_await f;
    co_return &r;
}

static task<bool> reference_future_round_trip(int* x) {
    auto f = get_running_loop().create_future<int&>();
    auto waiter = create_task(address_of_awaited(f));
    co_await sleep(0s);
    f.set_result(*x);
    const bool same_through_result = &f.result() == x;
    int* awaited = co_await waiter;
    const bool ok = same_through_result && awaited == x;
    co_return ok;
}

TEST_CASE("future<int&>: result and co_await refer to the original object", "[future]") {
    int x = 11;
    CHECK(run_virtual(reference_future_round_trip(&x)));
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int&>();
    f.set_result(x);
    f.result() = 12;
    CHECK(x == 12);
}

TEST_CASE("future: add_done_callback on a done future whose loop is gone raises 'Event loop is "
          "closed'",
          "[future]") {
    // py: loop.close(); fut.add_done_callback(cb) on a done future -> RuntimeError
    //     ("Event loop is closed"); on a pending one the callback is only stored.
    std::optional<asyncio::future<int>> done;
    std::optional<asyncio::future<int>> pending;
    {
        asyncio::event_loop loop;
        done = loop.create_future<int>();
        pending = loop.create_future<int>();
        done->set_result(1);
    }
    int calls = 0;
    try {
        (void)done->add_done_callback([&] { ++calls; });
        FAIL("add_done_callback scheduled on a destroyed loop");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "Event loop is closed");
    }
    const asyncio::callback_id a = pending->add_done_callback([&] { ++calls; });
    const asyncio::callback_id b = pending->add_done_callback([&] { ++calls; });
    CHECK(a != b);
    CHECK(pending->remove_done_callback(a) == 1);
    CHECK(calls == 0);
}
