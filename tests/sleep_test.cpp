// SPDX-License-Identifier: MIT
// Tests for sleep (sleep.hpp): zero and negative delays yield once, positive delays resume at
// exactly the deadline on the virtual clock, NaN, cancellation, wake order and huge durations.
#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Python observations quoted below are printed by tests/py/sleep_obs.py (CPython 3.13.0); the
// CTest case asyncio.py.sleep_obs checks that it still prints them (tests/py/sleep_obs.expected).

namespace {

using namespace std::chrono_literals;
using asyncio::cancelled_error;
using asyncio::create_task;
using asyncio::get_running_loop;
using asyncio::loop_clock;
using asyncio::sleep;
using asyncio::task;
using asyncio::task_handle;
using asyncio::testing::iteration_counter;
using asyncio::testing::run_virtual;
using asyncio::testing::start_ticker;
using asyncio::testing::stop_ticker;
using asyncio::testing::ticker_state;

loop_clock::duration loop_now() {
    return get_running_loop().time().time_since_epoch();
}

struct sleep_times {
    loop_clock::duration start{};
    loop_clock::duration end{};
};

struct cancelled_sleep_report {
    std::size_t timers_while_sleeping = 0;
    std::size_t timers_after_delivery = 99;
    bool cancelled = false;
    std::vector<std::string> log;
    loop_clock::duration now{};
};

struct huge_sleep_report {
    bool woke = false;
    bool done_after_an_hour = true;
    std::size_t timers = 0;
    bool cancelled = false;
    loop_clock::duration now{};
};

} // namespace

template <class Duration> static task<int> ticks_across_sleep(Duration d) {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    const int before = s.ticks;
    co_await sleep(d);
    const int elapsed = s.ticks - before;
    co_await stop_ticker(&s, std::move(tk));
    co_return elapsed;
}

template <class Duration> static task<int> iterations_across_sleep(Duration d) {
    iteration_counter c;
    c.arm(get_running_loop());
    co_await sleep(0s);
    co_await sleep(0s);
    const int before = c.iterations;
    co_await sleep(d);
    const int elapsed = c.iterations - before;
    c.stop = true;
    co_await sleep(0s); // the counter's last callback runs and sees `stop`
    co_return elapsed;
}

TEST_CASE("sleep: sleep(0) yields exactly once", "[sleep]") {
    // CPython 3.13: "sleep(0) ticks: 1", "sleep(0): iterations 1",
    // "sleep(0.0): iterations 1".
    CHECK(run_virtual(iterations_across_sleep(0s)) == 1);
    CHECK(run_virtual(iterations_across_sleep(std::chrono::duration<double>(0.0))) == 1);
    CHECK(run_virtual(ticks_across_sleep(0s)) == 1);
}

TEST_CASE("sleep: a negative duration yields exactly once like sleep(0)", "[sleep]") {
    // CPython 3.13: "sleep(-5) ticks: 1", "sleep(-5): iterations 1",
    // "sleep(-0.25): iterations 1".
    CHECK(run_virtual(iterations_across_sleep(-5s)) == 1);
    CHECK(run_virtual(iterations_across_sleep(std::chrono::nanoseconds(-1))) == 1);
    CHECK(run_virtual(iterations_across_sleep(std::chrono::duration<double>(-0.25))) == 1);
    CHECK(run_virtual(ticks_across_sleep(-5s)) == 1);
}

static task<std::vector<std::string>> sleep_zero_goes_behind_queued_callbacks() {
    std::vector<std::string> log;
    get_running_loop().call_soon([&log] { log.emplace_back("queued before"); });
    co_await sleep(0s);
    log.emplace_back("resumed");
    co_return log;
}

TEST_CASE("sleep: sleep(0) resumes behind the callbacks queued before it", "[sleep]") {
    // CPython 3.13 : call_soon(X); await sleep(0) gave ['X', 'main'].
    const std::vector<std::string> expected{"queued before", "resumed"};
    CHECK(run_virtual(sleep_zero_goes_behind_queued_callbacks()) == expected);
}

template <class Duration>
static task<sleep_times> timed_sleep(loop_clock::duration first, Duration d) {
    co_await sleep(first);
    sleep_times t;
    t.start = loop_now();
    co_await sleep(d);
    t.end = loop_now();
    co_return t;
}

TEST_CASE("sleep: sleep(d) resumes after exactly d on the virtual clock", "[sleep]") {
    const auto t = run_virtual(timed_sleep(1s, 250ms));
    CHECK(t.start == 1s);
    CHECK(t.end == 1250ms);
}

TEST_CASE("sleep: a floating-point duration is accepted", "[sleep]") {
    SECTION("seconds as double") {
        const auto t = run_virtual(timed_sleep(0s, std::chrono::duration<double>(1.5)));
        CHECK(t.end == 1500ms);
    }
    SECTION("milliseconds as double") {
        const auto t = run_virtual(timed_sleep(0s, std::chrono::duration<double, std::milli>(2.5)));
        CHECK(t.end == 2500us);
    }
    SECTION("minutes as double") {
        const auto t =
            run_virtual(timed_sleep(1s, std::chrono::duration<double, std::ratio<60>>(0.5)));
        CHECK(t.end == 31s);
    }
}

static task<std::string> sleep_nan() {
    std::string message = "<no invalid_argument>";
    try {
        const std::chrono::duration<double> nan{std::numeric_limits<double>::quiet_NaN()};
        static_cast<void>(sleep(nan));
    } catch (const std::invalid_argument& e) {
        message = e.what();
    }
    co_await sleep(0s);
    co_return message;
}

TEST_CASE("sleep: a NaN duration throws invalid_argument at the call", "[sleep]") {
    // CPython 3.13: ValueError('Invalid delay: NaN (not a number)').
    CHECK(run_virtual(sleep_nan()) == "Invalid delay: NaN (not a number)");
}

static task<void> sleep_an_hour_logging_cancel(std::vector<std::string>* log) {
    try {
        co_await sleep(1h);
    } catch (const cancelled_error&) {
        log->emplace_back("cancelled");
        throw;
    }
    log->emplace_back("woke up");
}

static task<cancelled_sleep_report> cancel_a_sleeper() {
    cancelled_sleep_report r;
    auto& loop = get_running_loop();
    auto sleeper = create_task(sleep_an_hour_logging_cancel(&r.log));
    co_await sleep(0s);
    r.timers_while_sleeping = loop.pending_timers();
    sleeper.cancel();
    co_await sleep(0s);
    r.timers_after_delivery = loop.pending_timers();
    r.cancelled = sleeper.cancelled();
    r.now = loop_now();
    co_return r;
}

TEST_CASE("sleep: cancelling a sleeping task removes its timer", "[sleep]") {
    // CPython 3.13: 1 timer while sleeping, 0 live timers one hop after cancel(), the sleeper
    // saw the cancellation and ended cancelled.
    const auto r = run_virtual(cancel_a_sleeper());
    CHECK(r.timers_while_sleeping == 1U);
    CHECK(r.timers_after_delivery == 0U);
    CHECK(r.cancelled);
    const std::vector<std::string> expected{"cancelled"};
    CHECK(r.log == expected);
    CHECK(r.now == 0s);
}

static task<void> yield_then_sleep(int id, int yields, std::vector<int>* log) {
    for (int i = 0; i < yields; ++i) {
        co_await sleep(0s);
    }
    co_await sleep(10ms);
    log->push_back(id);
}

static task<std::vector<int>> equal_delays(bool reverse_registration) {
    std::vector<int> log;
    std::vector<task_handle<void>> sleepers;
    for (int i = 0; i < 5; ++i) {
        const int yields = reverse_registration ? 4 - i : 0;
        sleepers.push_back(create_task(yield_then_sleep(i, yields, &log)));
    }
    for (auto& t : sleepers) {
        co_await t;
    }
    co_return log;
}

TEST_CASE("sleep: tasks sleeping the same delay wake in registration order", "[sleep]") {
    SECTION("registered in creation order") {
        // CPython 3.13: "equal delays wake: [0, 1, 2, 3, 4]".
        const std::vector<int> expected{0, 1, 2, 3, 4};
        CHECK(run_virtual(equal_delays(false)) == expected);
    }
    SECTION("registered in reverse creation order") {
        // CPython 3.13: "same delay, registered in order 4..0, wake: [4, 3, 2, 1, 0]".
        const std::vector<int> expected{4, 3, 2, 1, 0};
        CHECK(run_virtual(equal_delays(true)) == expected);
    }
}

template <class Duration> static task<void> sleep_huge(Duration d, bool* woke) {
    co_await sleep(d);
    *woke = true;
}

template <class Duration> static task<huge_sleep_report> huge_sleep_then_cancel(Duration d) {
    huge_sleep_report r;
    co_await sleep(1s); // the clock is past zero, so now + d overflows unless it saturates
    auto sleeper = create_task(sleep_huge(d, &r.woke));
    co_await sleep(1h);
    r.done_after_an_hour = sleeper.done();
    r.timers = get_running_loop().pending_timers();
    sleeper.cancel();
    try {
        co_await sleeper;
    } catch (const cancelled_error&) {
        r.cancelled = true;
    }
    r.now = loop_now();
    co_return r;
}

TEST_CASE("sleep: a huge duration does not overflow the deadline", "[sleep]") {
    huge_sleep_report r;
    SECTION("hours::max()") {
        r = run_virtual(huge_sleep_then_cancel(std::chrono::hours::max()));
    }
    SECTION("nanoseconds::max()") {
        r = run_virtual(huge_sleep_then_cancel(std::chrono::nanoseconds::max()));
    }
    SECTION("a double far beyond the range of the clock") {
        r = run_virtual(huge_sleep_then_cancel(std::chrono::duration<double>(1e300)));
    }
    CHECK(!r.woke);
    CHECK(!r.done_after_an_hour);
    CHECK(r.timers == 1U);
    CHECK(r.cancelled);
    CHECK(r.now == 1h + 1s);
}
