// SPDX-License-Identifier: MIT
// Tests for run (run.hpp): main's value and exception, nested runs, shutdown of pending tasks,
// reports through the exception handler, frame lifetimes, virtual time and a fresh loop per run.
#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Python observations quoted below are printed by tests/py/run_obs.py (CPython 3.13.0); the CTest
// case asyncio.py.run_obs checks that it still prints them (tests/py/run_obs.expected).

namespace {

using namespace std::chrono_literals;
using asyncio::cancelled_error;
using asyncio::create_task;
using asyncio::current_task;
using asyncio::future;
using asyncio::get_running_loop;
using asyncio::sleep;
using asyncio::task;
using asyncio::testing::captured_reports;
using asyncio::testing::lifetime_counter;
using asyncio::testing::lifetime_scope;
using asyncio::testing::run_virtual;
using asyncio::testing::tracked;

using asyncio::testing::what_of;

std::size_t count_reports(const captured_reports& reports, const std::string& message) {
    std::size_t n = 0;
    for (const auto& r : reports.items) {
        if (r.message == message) {
            ++n;
        }
    }
    return n;
}

const asyncio::exception_context* find_report(const captured_reports& reports,
                                              const std::string& message) {
    for (const auto& r : reports.items) {
        if (r.message == message) {
            return &r;
        }
    }
    return nullptr;
}

} // namespace

static task<int> forty_two() {
    co_return 42;
}

static task<void> nothing() {
    co_return;
}

static task<std::unique_ptr<int>> make_unique_seven() {
    co_return std::make_unique<int>(7);
}

static task<int> throws_runtime_error() {
    co_await sleep(0s);
    throw std::runtime_error("main failed");
}

TEST_CASE("run: returns the value of main", "[run]") {
    CHECK(asyncio::run(forty_two()) == 42);
    CHECK(run_virtual(forty_two()) == 42);
}

TEST_CASE("run: works for a void main and a move-only result", "[run]") {
    REQUIRE_NOTHROW(asyncio::run(nothing()));
    const std::unique_ptr<int> p = run_virtual(make_unique_seven());
    REQUIRE(p != nullptr);
    CHECK(*p == 7);
}

TEST_CASE("run: rethrows the exception of main without reporting it", "[run]") {
    // CPython 3.13: asyncio.run(main) re-raised ValueError('main failed'), reports: [].
    captured_reports reports;
    REQUIRE_THROWS_WITH(run_virtual(throws_runtime_error(), &reports), "main failed");
    CHECK(reports.items.empty());
}

static task<void> cancels_itself() {
    current_task().cancel();
    co_await sleep(0s);
}

TEST_CASE("run: a cancelled main raises cancelled_error", "[run]") {
    // CPython 3.13: current_task().cancel(); await sleep(0) -> run raised CancelledError().
    REQUIRE_THROWS_AS(run_virtual(cancels_itself()), cancelled_error);
}

static task<int> read_tracked(tracked t) {
    co_return t.value;
}

static task<std::string> nested_run() {
    std::string message = "<no runtime_error>";
    try {
        static_cast<void>(asyncio::run(read_tracked(tracked{1})));
    } catch (const std::runtime_error& e) {
        message = e.what();
    }
    co_await sleep(0s);
    co_return message;
}

TEST_CASE("run: called inside a running loop raises runtime_error", "[run]") {
    // CPython 3.13: "asyncio.run() cannot be called from a running event loop".
    const lifetime_scope scope;
    CHECK(run_virtual(nested_run()) == "asyncio.run() cannot be called from a running event loop");
    CHECK(lifetime_counter::constructed > 0);
    CHECK(lifetime_scope::balanced());
}

static task<void> background(std::string tag, std::vector<std::string>* log) {
    struct finally_log {
        std::vector<std::string>* log;
        std::string tag;
        ~finally_log() { log->push_back(tag + " finally"); }
    };
    const finally_log guard{log, tag};
    log->push_back(tag + " started");
    try {
        co_await sleep(1h);
    } catch (const cancelled_error&) {
        const bool time_stood_still = get_running_loop().time().time_since_epoch() == 0s;
        log->push_back(tag + (time_stood_still ? " cancelled at time 0" : " cancelled later"));
        throw;
    }
    log->push_back(tag + " woke up");
}

static task<int> spawn_and_return(std::vector<std::string>* log) {
    static_cast<void>(create_task(background("late", log)));
    co_return 42;
}

static task<void> spawn_yield_and_return(std::vector<std::string>* log) {
    static_cast<void>(create_task(background("early", log)));
    co_await sleep(0s);
    log->emplace_back("main done");
}

TEST_CASE("run: shutdown cancels tasks still pending and their cleanup runs", "[run]") {
    std::vector<std::string> log;
    SECTION("a task created just before main returns still runs its first step") {
        // CPython 3.13: returns 42 ['late started', 'late cancelled at time 0.0', 'late finally'].
        CHECK(run_virtual(spawn_and_return(&log)) == 42);
        const std::vector<std::string> expected{"late started", "late cancelled at time 0",
                                                "late finally"};
        CHECK(log == expected);
    }
    SECTION("a task blocked in a sleep") {
        // CPython 3.13: ['early started', 'main done', 'early cancelled at time 0.0',
        // 'early finally'].
        run_virtual(spawn_yield_and_return(&log));
        const std::vector<std::string> expected{"early started", "main done",
                                                "early cancelled at time 0", "early finally"};
        CHECK(log == expected);
    }
}

static task<void> fails_during_cleanup() {
    bool cancelled = false;
    try {
        co_await sleep(1h);
    } catch (const cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        throw std::runtime_error("cleanup failed");
    }
}

static task<void> leaves_a_failing_cleanup() {
    static_cast<void>(create_task(fails_during_cleanup()));
    co_await sleep(0s);
}

TEST_CASE("run: an exception raised by a pending task during shutdown is reported", "[run]") {
    // CPython 3.13: [('unhandled exception during asyncio.run() shutdown',
    //                 "RuntimeError('cleanup failed')", <the task>)] and nothing else.
    captured_reports reports;
    run_virtual(leaves_a_failing_cleanup(), &reports);
    const auto* r = find_report(reports, "unhandled exception during asyncio.run() shutdown");
    REQUIRE(r != nullptr);
    CHECK(what_of(r->exception) == "cleanup failed");
    CHECK(r->task_name == "Task-2");
    CHECK(reports.items.size() == 1U);
}

static task<void> fails_unobserved() {
    co_await sleep(0s);
    throw std::invalid_argument("lost");
}

static task<void> drops_a_failing_task() {
    static_cast<void>(create_task(fails_unobserved()));
    co_await sleep(0s);
    co_await sleep(0s);
    co_await sleep(0s);
}

static task<std::string> reads_the_failure() {
    auto t = create_task(fails_unobserved());
    co_await sleep(0s);
    co_await sleep(0s);
    co_await sleep(0s);
    co_return what_of(t.exception());
}

TEST_CASE("run: a task exception never retrieved is reported", "[run]") {
    // CPython 3.13: [('Task exception was never retrieved', "ValueError('lost')", 'Task-23')]
    // (CPython counts task names per process; here they count per loop, so it is Task-2).
    captured_reports reports;
    run_virtual(drops_a_failing_task(), &reports);
    CHECK(count_reports(reports, "Task exception was never retrieved") == 1U);
    const auto* r = find_report(reports, "Task exception was never retrieved");
    REQUIRE(r != nullptr);
    CHECK(what_of(r->exception) == "lost");
    CHECK(r->task_name == "Task-2");
}

TEST_CASE("run: a task exception that was read is not reported", "[run]") {
    captured_reports reports;
    CHECK(run_virtual(reads_the_failure(), &reports) == "lost");
    CHECK(reports.items.empty());
}

static task<int> finishes_soon(tracked t) {
    co_await sleep(0s);
    co_return t.value;
}

static task<void> sleeps_for_an_hour([[maybe_unused]] tracked t) {
    co_await sleep(1h);
}

static task<void> waits_for(future<int> f, [[maybe_unused]] tracked t) {
    static_cast<void>(co_await f);
}

static task<int> owner(tracked t, bool fail) {
    auto done = create_task(finishes_soon(tracked{2}));
    static_cast<void>(create_task(sleeps_for_an_hour(tracked{3})));
    auto f = get_running_loop().create_future<int>();
    static_cast<void>(create_task(waits_for(f, tracked{4})));
    task<int> never_started = finishes_soon(tracked{5});
    co_await sleep(0s);
    const int value = co_await done;
    if (fail) {
        throw std::runtime_error("owner failed");
    }
    co_return value + t.value;
}

TEST_CASE("run: every frame and value is destroyed when run returns", "[run]") {
    const lifetime_scope scope;
    SECTION("main returns") {
        CHECK(run_virtual(owner(tracked{1}, false)) == 3);
    }
    SECTION("main throws") {
        REQUIRE_THROWS_WITH(run_virtual(owner(tracked{1}, true)), "owner failed");
    }
    CHECK(lifetime_counter::constructed >= 5);
    CHECK(lifetime_counter::alive() == 0);
    CHECK(lifetime_scope::balanced());
}

static task<void> ticks_every(std::chrono::seconds period, int count, int* ticks) {
    for (int i = 0; i < count; ++i) {
        co_await sleep(period);
        ++*ticks;
    }
}

static task<std::chrono::nanoseconds> ten_minutes_of_sleeps(int* fast, int* slow) {
    auto a = create_task(ticks_every(1s, 600, fast));
    auto b = create_task(ticks_every(30s, 20, slow));
    co_await a;
    co_await b;
    co_return get_running_loop().time().time_since_epoch();
}

TEST_CASE("run: minutes of sleeps on the virtual clock end at exactly the summed time", "[run]") {
    int fast = 0;
    int slow = 0;
    CHECK(run_virtual(ten_minutes_of_sleeps(&fast, &slow)) == 10min);
    CHECK(fast == 600);
    CHECK(slow == 20);
}

static task<std::string> names_and_start_time() {
    const auto start = get_running_loop().time().time_since_epoch();
    auto child = create_task(nothing());
    co_await child;
    co_await sleep(5s);
    co_return current_task().get_name() + " " + child.get_name() +
        (start == 0s ? " from 0" : " from later");
}

TEST_CASE("run: each run uses a fresh loop so task names restart at Task-1", "[run]") {
    // Deliberate deviation: CPython 3.13 numbers tasks per process (a second run gave
    // ('Task-30', 'Task-31')); here each loop counts from Task-1, and its clock from 0.
    CHECK(run_virtual(names_and_start_time()) == "Task-1 Task-2 from 0");
    CHECK(run_virtual(names_and_start_time()) == "Task-1 Task-2 from 0");
}
