// SPDX-License-Identifier: MIT
// Tests for async_generator.hpp: next() and its end, awaits between yields, exceptions,
// cancellation, aclose, the "already running" error, move-only values, the finalizer of dropped
// generators, run()'s shutdown_asyncgens, and lifetimes of frames and values on every path.
//
// Expected behaviour was checked against CPython 3.13.0 with twin scripts; those quoted as
// "py (tests/py/agen_obs.py)" are in the repository and checked by CTest (asyncio.py.agen_obs),
// the older ones (agen_test*.py) were not kept.

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

using namespace std::chrono_literals;

using asyncio::async_generator;
using asyncio::task;
using asyncio::testing::captured_reports;
using asyncio::testing::lifetime_counter;
using asyncio::testing::lifetime_scope;
using asyncio::testing::now_seconds;
using asyncio::testing::run_virtual;
using asyncio::testing::ticker_state;
using asyncio::testing::tracked;

namespace {

using log_t = std::vector<std::string>;

/// "what@t" with the loop time in whole seconds, so a log also shows when each step happened.
std::string at(const std::string& what) {
    return what + "@" + std::to_string(static_cast<long>(now_seconds()));
}

using asyncio::testing::what_of;

/// An item as text: its value, or "nullopt".
std::string show(const std::optional<int>& item) {
    return item ? std::to_string(*item) : "nullopt";
}

/// The handler's reports as text, for INFO.
std::string describe(const captured_reports& reports) {
    std::string out = std::to_string(reports.items.size()) + " report(s)";
    for (const auto& r : reports.items) {
        out += "\n  " + r.message + " [" + r.task_name + "]";
        if (r.exception) {
            out += ": " + what_of(r.exception);
        }
    }
    return out;
}

// The C++20 spelling of `finally: await ...`: a catch block cannot co_await, so the handler only
// records the exception; the awaiting cleanup follows the block, then the exception is rethrown.
async_generator<int> count_with_cleanup(log_t* log, int n) {
    std::exception_ptr pending;
    try {
        for (int i = 0; i < n; ++i) {
            co_yield i;
        }
    } catch (...) {
        pending = std::current_exception();
    }
    log->push_back(at("cleanup start"));
    co_await asyncio::sleep(1s);
    log->push_back(at("cleanup end"));
    if (pending) {
        std::rethrow_exception(pending);
    }
}

// ---- yields with awaits in between ------------------------------------------------------------

task<int> four_after_two_seconds() {
    co_await asyncio::sleep(2s);
    co_return 4;
}

task<void> put_after(asyncio::queue<int>* q, std::chrono::seconds delay, int v) {
    co_await asyncio::sleep(delay);
    co_await q->put(v);
}

async_generator<int> mixed(asyncio::queue<int>* q) {
    co_yield 1;
    co_await asyncio::sleep(1s);
    co_yield 2;
    co_yield co_await q->get();
    auto child = asyncio::create_task(four_after_two_seconds());
    co_yield co_await child;
}

task<void> mixed_main(std::vector<std::pair<int, double>>* out) {
    asyncio::queue<int> q;
    auto producer = asyncio::create_task(put_after(&q, 5s, 3));
    auto gen = mixed(&q);
    while (auto item = co_await gen.next()) {
        out->emplace_back(*item, now_seconds());
    }
    co_await producer;
}

TEST_CASE("async_generator: awaits of a sleep, a queue get and a task between yields suspend the "
          "consumer until each value is ready") {
    // py: mixed: [(1, 0.0), (2, 1.00), (3, 5.00), (4, 7.00)]
    std::vector<std::pair<int, double>> out;
    run_virtual(mixed_main(&out));
    const std::vector<std::pair<int, double>> want{{1, 0.0}, {2, 1.0}, {3, 5.0}, {4, 7.0}};
    REQUIRE(out == want);
}

// ---- laziness ---------------------------------------------------------------------------------

async_generator<int> logged(log_t* log) {
    log->emplace_back("start");
    co_yield 1;
    log->emplace_back("after 1");
    co_yield 2;
    log->emplace_back("end");
}

task<void> lazy_main(log_t* log, std::vector<log_t>* snapshots, std::vector<int>* values) {
    auto gen = logged(log);
    co_await asyncio::sleep(0s); // a full loop iteration: the body still does not run
    snapshots->push_back(*log);
    while (auto item = co_await gen.next()) {
        values->push_back(*item);
        snapshots->push_back(*log);
    }
    snapshots->push_back(*log);
}

TEST_CASE("async_generator: the body runs only when next() is awaited, and only up to the next "
          "co_yield") {
    // py: lazy: before first anext []
    // py: lazy: first 1 ['start']
    // py: lazy: second 2 ['start', 'after 1']
    // py: lazy: end ['start', 'after 1', 'end']
    log_t log;
    std::vector<log_t> snapshots;
    std::vector<int> values;
    run_virtual(lazy_main(&log, &snapshots, &values));
    REQUIRE(values == std::vector<int>{1, 2});
    REQUIRE(snapshots.size() == 4);
    CHECK(snapshots[0].empty());
    CHECK(snapshots[1] == log_t{"start"});
    CHECK(snapshots[2] == log_t{"start", "after 1"});
    CHECK(snapshots[3] == log_t{"start", "after 1", "end"});
}

// ---- the end ----------------------------------------------------------------------------------

async_generator<int> one_value() {
    co_yield 1;
}

task<void> after_end_main(std::vector<std::optional<int>>* results) {
    auto gen = one_value();
    for (int i = 0; i < 4; ++i) {
        results->push_back(co_await gen.next());
    }
}

TEST_CASE("async_generator: next() after the last value returns nullopt every time") {
    // py: after end: 1, then StopAsyncIteration 0, 1, 2
    std::vector<std::optional<int>> results;
    run_virtual(after_end_main(&results));
    REQUIRE(results.size() == 4);
    CHECK(results[0] == std::optional<int>(1));
    CHECK_FALSE(results[1].has_value());
    CHECK_FALSE(results[2].has_value());
    CHECK_FALSE(results[3].has_value());
}

async_generator<int> empty_generator(bool* ran) {
    *ran = true;
    co_return;
}

task<void> empty_main(bool* ran, std::vector<std::optional<int>>* results) {
    auto gen = empty_generator(ran);
    results->push_back(co_await gen.next());
    results->push_back(co_await gen.next());
}

TEST_CASE("async_generator: a generator that yields nothing gives nullopt from its first next()") {
    bool ran = false;
    std::vector<std::optional<int>> results;
    run_virtual(empty_main(&ran, &results));
    REQUIRE(ran);
    REQUIRE(results == std::vector<std::optional<int>>{std::nullopt, std::nullopt});
}

// ---- exceptions -------------------------------------------------------------------------------

async_generator<int> throws_after_one() {
    co_yield 1;
    co_await asyncio::sleep(1s);
    throw std::invalid_argument("boom");
}

task<void> exception_main(log_t* log) {
    auto gen = throws_after_one();
    log->push_back("value " + show(co_await gen.next()));
    try {
        (void)co_await gen.next();
        log->emplace_back("no exception");
    } catch (const std::invalid_argument& e) {
        log->push_back(at(std::string("invalid_argument ") + e.what()));
    }
    const std::optional<int> after = co_await gen.next();
    log->emplace_back(after ? "value after the exception" : "then nullopt");
}

TEST_CASE("async_generator: an exception thrown in the body propagates out of next() and leaves "
          "the generator exhausted") {
    // py: exc: 1 / exc: ValueError boom 1.00 / exc: then StopAsyncIteration
    log_t log;
    run_virtual(exception_main(&log));
    REQUIRE(log == log_t{"value 1", "invalid_argument boom@1", "then nullopt"});
}

// ---- cancellation -----------------------------------------------------------------------------

async_generator<int> sleeps_between(log_t* log) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_await asyncio::sleep(10s);
        co_yield 2;
    } catch (const asyncio::cancelled_error&) {
        log->push_back(at("gen saw cancelled_error"));
        pending = std::current_exception();
    }
    log->emplace_back("gen cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> consume_all(async_generator<int>* gen, log_t* log) {
    try {
        while (auto item = co_await gen->next()) {
            log->push_back("got " + std::to_string(*item));
        }
    } catch (const asyncio::cancelled_error&) {
        log->emplace_back("consumer saw cancelled_error");
        throw;
    }
}

task<void> cancel_main(log_t* log) {
    auto gen = sleeps_between(log);
    auto consumer = asyncio::create_task(consume_all(&gen, log));
    co_await asyncio::sleep(3s);
    consumer.cancel();
    try {
        co_await consumer;
    } catch (const asyncio::cancelled_error&) {
        log->push_back(std::string("main: consumer cancelled ") +
                       (consumer.cancelled() ? "true" : "false"));
    }
    if (!(co_await gen.next())) {
        log->emplace_back("then nullopt");
    }
}

TEST_CASE("async_generator: cancelling the consumer while the generator awaits delivers "
          "cancelled_error inside the generator, runs its cleanup and cancels the consumer") {
    // py: cancel: ['got 1', 'gen saw CancelledError at 3.00', 'gen finally',
    //              'consumer saw CancelledError', 'main: consumer cancelled True',
    //              'then StopAsyncIteration']
    log_t log;
    run_virtual(cancel_main(&log));
    REQUIRE(log == log_t{"got 1", "gen saw cancelled_error@3", "gen cleanup",
                         "consumer saw cancelled_error", "main: consumer cancelled true",
                         "then nullopt"});
}

async_generator<int> swallows_cancel(log_t* log) {
    for (int i = 0; i < 3; ++i) {
        try {
            co_await asyncio::sleep(1s);
        } catch (const asyncio::cancelled_error&) {
            log->push_back("gen swallowed cancel at " + std::to_string(i));
        }
        co_yield i;
    }
}

task<std::vector<int>> collect(async_generator<int>* gen) {
    std::vector<int> out;
    while (auto item = co_await gen->next()) {
        out.push_back(*item);
    }
    co_return out;
}

task<void> swallow_main(log_t* log, std::vector<int>* values, bool* cancelled) {
    auto gen = swallows_cancel(log);
    auto consumer = asyncio::create_task(collect(&gen));
    co_await asyncio::sleep(500ms);
    consumer.cancel();
    *values = co_await consumer;
    *cancelled = consumer.cancelled();
}

TEST_CASE("async_generator: a generator that swallows the cancellation keeps yielding to the "
          "consumer") {
    // py: gen: swallowed cancel at 0 / consumer result [0, 1, 2] False
    log_t log;
    std::vector<int> values;
    bool cancelled = true;
    run_virtual(swallow_main(&log, &values, &cancelled));
    REQUIRE(log == log_t{"gen swallowed cancel at 0"});
    REQUIRE(values == std::vector<int>{0, 1, 2});
    REQUIRE_FALSE(cancelled);
}

// ---- aclose -----------------------------------------------------------------------------------

task<void> aclose_main(log_t* log) {
    auto gen = count_with_cleanup(log, 10);
    log->push_back(show(co_await gen.next()));
    log->push_back(show(co_await gen.next()));
    co_await gen.aclose();
    log->push_back(at("aclose returned"));
    if (!(co_await gen.next())) {
        log->emplace_back("then nullopt");
    }
}

TEST_CASE("async_generator: aclose stops the generator early and runs its cleanup, including "
          "cleanup that awaits") {
    // py: aclose: [0, 1, 'cleanup start 0', 'cleanup end 1.00', 'aclose returned 1.00',
    //              'then StopAsyncIteration']
    log_t log;
    run_virtual(aclose_main(&log));
    REQUIRE(log == log_t{"0", "1", "cleanup start@0", "cleanup end@1", "aclose returned@1",
                         "then nullopt"});
}

async_generator<int> logged_body(log_t* log) {
    log->emplace_back("body");
    std::exception_ptr pending;
    try {
        co_yield 1;
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> aclose_unstarted_main(log_t* log) {
    auto gen = logged_body(log);
    co_await gen.aclose();
    log->emplace_back("unstarted closed");
    if (!(co_await gen.next())) {
        log->emplace_back("then nullopt");
    }
}

TEST_CASE("async_generator: aclose on a generator that never started is a no-op and its body "
          "never runs") {
    // py: noop: ['unstarted closed', 'unstarted then StopAsyncIteration']
    log_t log;
    run_virtual(aclose_unstarted_main(&log));
    REQUIRE(log == log_t{"unstarted closed", "then nullopt"});
}

task<void> aclose_finished_main(log_t* log) {
    auto gen = logged_body(log);
    while (co_await gen.next()) {
    }
    co_await gen.aclose();
    log->emplace_back("finished closed");
    co_await gen.aclose();
    log->emplace_back("closed again");
}

TEST_CASE("async_generator: aclose on a finished generator is a no-op") {
    // py: noop: ['body', 'finally', 'finished closed']
    log_t log;
    run_virtual(aclose_finished_main(&log));
    REQUIRE(log == log_t{"body", "cleanup", "finished closed", "closed again"});
}

async_generator<int> returns_on_exit(log_t* log) {
    try {
        co_yield 1;
        co_yield 2;
    } catch (const asyncio::generator_exit&) {
        log->emplace_back("caught, returning");
    }
}

task<void> return_on_exit_main(log_t* log) {
    auto gen = returns_on_exit(log);
    (void)co_await gen.next();
    co_await gen.aclose();
    log->emplace_back("aclose returned");
    if (!(co_await gen.next())) {
        log->emplace_back("then nullopt");
    }
}

TEST_CASE("async_generator: a generator that catches generator_exit and returns closes cleanly") {
    // py: return after GeneratorExit: ['caught, returning']
    log_t log;
    run_virtual(return_on_exit_main(&log));
    REQUIRE(log == log_t{"caught, returning", "aclose returned", "then nullopt"});
}

async_generator<int> cleanup_throws() {
    std::exception_ptr pending;
    try {
        co_yield 1;
    } catch (...) {
        pending = std::current_exception();
    }
    co_await asyncio::sleep(0s);
    throw std::out_of_range("cleanup failed");
}

task<void> cleanup_throws_main(log_t* log) {
    auto gen = cleanup_throws();
    (void)co_await gen.next();
    try {
        co_await gen.aclose();
        log->emplace_back("aclose returned");
    } catch (const std::out_of_range& e) {
        log->push_back(std::string("aclose threw ") + e.what());
    }
    if (!(co_await gen.next())) {
        log->emplace_back("then nullopt");
    }
}

TEST_CASE("async_generator: an exception other than generator_exit raised by the cleanup "
          "propagates out of aclose") {
    // py: cleanup exception propagates from aclose: KeyError('cleanup failed') /
    //     then StopAsyncIteration
    log_t log;
    run_virtual(cleanup_throws_main(&log));
    REQUIRE(log == log_t{"aclose threw cleanup failed", "then nullopt"});
}

async_generator<int> ignores_exit(log_t* log, bool* keep_ignoring) {
    for (;;) {
        try {
            co_yield 1;
        } catch (const asyncio::generator_exit&) {
            log->emplace_back("caught generator_exit");
            if (!*keep_ignoring) {
                throw;
            }
        }
    }
}

task<void> ignore_exit_main(log_t* log, bool* keep_ignoring) {
    auto gen = ignores_exit(log, keep_ignoring);
    (void)co_await gen.next();
    try {
        co_await gen.aclose();
        log->emplace_back("aclose returned");
    } catch (const std::runtime_error& e) {
        log->push_back(std::string("runtime_error: ") + e.what());
    }
    // Still suspended at its co_yield, but aclose() was spent on it (CPython's ag_closed): a
    // second aclose raises StopAsyncIteration without entering the body, even one it would obey.
    *keep_ignoring = false;
    try {
        co_await gen.aclose();
        log->emplace_back("second aclose returned");
    } catch (const asyncio::stop_async_iteration&) {
        log->emplace_back("second aclose: stop_async_iteration");
    }
    // next() still enters it.
    log->push_back("next: " + show(co_await gen.next()));
    // Dropped while the loop runs: no closing task (CPython closes an ag_closed generator at once,
    // without its finalizer hook); the frame is destroyed without entering the body.
}

TEST_CASE("async_generator: a generator that yields again after generator_exit makes aclose throw "
          "runtime_error, and later acloses throw stop_async_iteration") {
    // py (tests/py/agen_obs.py): ignored GeneratorExit: ['caught GeneratorExit', 'RuntimeError:
    //     async generator ignored GeneratorExit', 'second aclose: StopAsyncIteration()',
    //     'next gave 1', 'caught GeneratorExit'] reports []
    // The last entry is CPython closing the dropped generator synchronously (gen.close() at
    // dealloc); C++ cannot throw into a frame without resuming it, so here the frame is destroyed
    // (destructors run, catch blocks do not) and that entry is absent.
    log_t log;
    bool keep_ignoring = true;
    captured_reports reports;
    run_virtual(ignore_exit_main(&log, &keep_ignoring), &reports);
    INFO(describe(reports));
    CHECK(reports.items.empty());
    REQUIRE(log == log_t{"caught generator_exit",
                         "runtime_error: async generator ignored GeneratorExit",
                         "second aclose: stop_async_iteration", "next: 1"});
}

task<void> ignore_exit_kept_main(log_t* log, async_generator<int>* keep, bool* keep_ignoring) {
    *keep = ignores_exit(log, keep_ignoring);
    (void)co_await keep->next();
    try {
        co_await keep->aclose();
    } catch (const std::runtime_error& e) {
        log->push_back(std::string("runtime_error: ") + e.what());
    }
}

TEST_CASE("async_generator: run's shutdown reports stop_async_iteration for a generator whose "
          "aclose was spent") {
    // py (tests/py/agen_obs.py): kept past main: ['caught GeneratorExit', "RuntimeError('async
    //     generator ignored GeneratorExit')"] reports [('an error occurred during closing of
    //     asynchronous generator', 'StopAsyncIteration()')]
    log_t log;
    bool keep_ignoring = true;
    async_generator<int> kept;
    captured_reports reports;
    run_virtual(ignore_exit_kept_main(&log, &kept, &keep_ignoring), &reports);
    INFO(describe(reports));
    REQUIRE(reports.items.size() == 1U);
    CHECK(reports.items[0].message == "an error occurred during closing of asynchronous generator");
    CHECK_THROWS_AS(std::rethrow_exception(reports.items[0].exception),
                    asyncio::stop_async_iteration);
    CHECK(log ==
          log_t{"caught generator_exit", "runtime_error: async generator ignored GeneratorExit"});
}

// ---- concurrent use ---------------------------------------------------------------------------

async_generator<int> slow_one() {
    co_await asyncio::sleep(1s);
    co_yield 1;
}

task<std::optional<int>> take_next(async_generator<int>* gen) {
    co_return co_await gen->next();
}

task<void> concurrent_main(log_t* log) {
    auto gen = slow_one();
    auto first = asyncio::create_task(take_next(&gen));
    co_await asyncio::sleep(0s); // `first` is now inside the generator's sleep
    try {
        (void)co_await gen.next();
        log->emplace_back("second next() succeeded");
    } catch (const std::runtime_error& e) {
        log->push_back(std::string("next: ") + e.what());
    }
    try {
        co_await gen.aclose();
        log->emplace_back("aclose succeeded");
    } catch (const std::runtime_error& e) {
        log->push_back(std::string("aclose: ") + e.what());
    }
    log->push_back(at("first got " + show(co_await first)));
}

TEST_CASE("async_generator: next() or aclose() from a second task while the first is inside the "
          "generator raises runtime_error") {
    // py: concurrent: RuntimeError: anext(): asynchronous generator is already running
    // py: aclose while running: RuntimeError: aclose(): asynchronous generator is already running
    // py: concurrent: first 1
    log_t log;
    run_virtual(concurrent_main(&log));
    REQUIRE(log == log_t{"next: anext(): asynchronous generator is already running",
                         "aclose: aclose(): asynchronous generator is already running",
                         "first got 1@1"});
}

async_generator<int> count_to(int n) {
    for (int i = 0; i < n; ++i) {
        co_yield i;
    }
}

task<void> turns_main(std::vector<std::optional<int>>* out) {
    auto gen = count_to(4);
    out->push_back(co_await asyncio::create_task(take_next(&gen)));
    out->push_back(co_await gen.next());
    out->push_back(co_await asyncio::create_task(take_next(&gen)));
}

TEST_CASE("async_generator: tasks may take turns calling next() on one generator") {
    // py: tasks in turn: 0 1 2
    std::vector<std::optional<int>> out;
    run_virtual(turns_main(&out));
    REQUIRE(out == std::vector<std::optional<int>>{0, 1, 2});
}

task<void> moved_from_main(std::vector<std::optional<int>>* out) {
    auto gen = count_to(3);
    out->push_back(co_await gen.next());
    auto other = std::move(gen);
    // NOLINTNEXTLINE(bugprone-use-after-move): a moved-from generator is documented as exhausted
    out->push_back(co_await gen.next());
    out->push_back(co_await other.next());
    co_await gen.aclose();
}

TEST_CASE("async_generator: a moved-from generator is exhausted and the new owner resumes where it "
          "stopped") {
    std::vector<std::optional<int>> out;
    run_virtual(moved_from_main(&out));
    REQUIRE(out == std::vector<std::optional<int>>{0, std::nullopt, 1});
}

// ---- move-only values -------------------------------------------------------------------------

async_generator<std::unique_ptr<int>> boxes(int n) {
    for (int i = 1; i <= n; ++i) {
        co_await asyncio::sleep(1s);
        co_yield std::make_unique<int>(i * 10);
    }
}

task<void> boxes_main(std::vector<int>* out) {
    auto gen = boxes(3);
    while (std::optional<std::unique_ptr<int>> item = co_await gen.next()) {
        std::unique_ptr<int> owned = std::move(*item);
        out->push_back(*owned);
    }
}

TEST_CASE("async_generator: yields move-only values such as unique_ptr") {
    std::vector<int> out;
    run_virtual(boxes_main(&out));
    REQUIRE(out == std::vector<int>{10, 20, 30});
}

// ---- generators consuming generators ----------------------------------------------------------

task<int> five_after_one_second() {
    co_await asyncio::sleep(1s);
    co_return 5;
}

async_generator<int> inner(log_t* log) {
    std::exception_ptr pending;
    try {
        for (int i = 0; i < 3; ++i) {
            co_await asyncio::sleep(1s);
            co_yield i;
        }
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("inner cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

async_generator<int> outer(log_t* log) {
    std::exception_ptr pending;
    try {
        auto source = inner(log);
        while (auto x = co_await source.next()) {
            co_yield *x * 10;
        }
        co_yield co_await five_after_one_second(); // a lazy task awaited inline
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("outer cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> nested_main(std::vector<std::pair<int, double>>* out, log_t* log) {
    auto gen = outer(log);
    while (auto item = co_await gen.next()) {
        out->emplace_back(*item, now_seconds());
    }
}

TEST_CASE("async_generator: a generator can consume another generator and await a lazy task "
          "between yields") {
    // py: nested: [(0, 1.01), (10, 2.01), (20, 3.02), (5, 4.02)] ['inner finally', 'outer finally']
    std::vector<std::pair<int, double>> out;
    log_t log;
    run_virtual(nested_main(&out, &log));
    const std::vector<std::pair<int, double>> want{{0, 1.0}, {10, 2.0}, {20, 3.0}, {5, 4.0}};
    REQUIRE(out == want);
    REQUIRE(log == log_t{"inner cleanup", "outer cleanup"});
}

task<void> consume_logged(async_generator<int>* gen, log_t* log) {
    while (auto item = co_await gen->next()) {
        log->push_back("got " + std::to_string(*item));
    }
}

task<void> nested_cancel_main(log_t* log) {
    auto gen = outer(log);
    auto consumer = asyncio::create_task(consume_logged(&gen, log));
    co_await asyncio::sleep(1500ms);
    consumer.cancel();
    try {
        co_await consumer;
    } catch (const asyncio::cancelled_error&) {
        log->emplace_back("consumer cancelled");
    }
}

TEST_CASE("async_generator: cancelling the consumer of nested generators runs the inner cleanup, "
          "then the outer one") {
    // py: nested cancel: ['got 0', 'inner finally', 'outer finally', 'consumer cancelled']
    log_t log;
    run_virtual(nested_cancel_main(&log));
    REQUIRE(log == log_t{"got 0", "inner cleanup", "outer cleanup", "consumer cancelled"});
}

// ---- finalisation: run() and dropped generators -----------------------------------------------

async_generator<int> finally_awaits(log_t* log) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_yield 2;
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("cleanup start");
    co_await asyncio::sleep(0s);
    log->emplace_back("cleanup end");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> owns_generator_main(log_t* log) {
    auto gen = finally_awaits(log);
    (void)co_await gen.next();
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run closes a suspended generator owned by main's frame, running its "
          "awaiting cleanup before run returns") {
    // py: main-owned: ['main end', 'cleanup start', 'cleanup end', 'after run']
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(owns_generator_main(&log), &reports);
    log.emplace_back("after run");
    REQUIRE(log == log_t{"main end", "cleanup start", "cleanup end", "after run"});
    REQUIRE(reports.items.empty());
}

task<void> uses_outside_generator_main(async_generator<int>* gen, log_t* log) {
    (void)co_await gen->next();
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run closes a suspended generator owned outside the run before run "
          "returns") {
    // py: outside-owned: ['main end', 'cleanup start', 'cleanup end', 'after run']
    log_t log;
    captured_reports reports;
    async_generator<int> gen = finally_awaits(&log);
    run_virtual(uses_outside_generator_main(&gen, &log), &reports);
    log.emplace_back("after run");
    REQUIRE(log == log_t{"main end", "cleanup start", "cleanup end", "after run"});
    REQUIRE(reports.items.empty());
}

async_generator<int> cleanup_at_tick(const ticker_state* ts, std::vector<int>* ticks) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_yield 2;
    } catch (...) {
        pending = std::current_exception();
    }
    ticks->push_back(ts->ticks);
    co_await asyncio::sleep(0s);
    ticks->push_back(ts->ticks);
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> drop_main(std::vector<int>* ticks) {
    ticker_state ts;
    auto tick = co_await asyncio::testing::start_ticker(&ts);
    {
        auto gen = cleanup_at_tick(&ts, ticks);
        (void)co_await gen.next();
        ticks->push_back(ts.ticks);
    } // dropped here, suspended at its first co_yield
    for (int i = 0; i < 4; ++i) {
        co_await asyncio::sleep(0s);
    }
    co_await asyncio::testing::stop_ticker(&ts, tick);
}

TEST_CASE("async_generator: a generator dropped mid-iteration in a running task is closed by a "
          "task created one iteration later, which runs its awaiting cleanup") {
    // py: drop: ['tick 1', 'tick 2', 'drop at tick 2', 'tick 3', 'tick 4', 'cleanup start',
    //            'tick 5', 'cleanup end', 'tick 6']
    // The finalizer's call_soon creates the closing task in the next iteration (tick 3); the task
    // starts in the iteration after (tick 4).
    std::vector<int> ticks;
    captured_reports reports;
    run_virtual(drop_main(&ticks), &reports);
    REQUIRE(ticks.size() == 3);
    CHECK(ticks[0] == 2);
    CHECK(ticks[1] == 4);
    CHECK(ticks[2] == 5);
    REQUIRE(reports.items.empty());
}

/// Logs "finally" when the generator's frame goes, however it goes (Python's `finally:`).
struct finally_log {
    log_t* log;
    explicit finally_log(log_t* l) : log(l) {}
    finally_log(const finally_log&) = delete;
    finally_log& operator=(const finally_log&) = delete;
    ~finally_log() { log->emplace_back("finally"); }
};

async_generator<int> slow_logged(log_t* log) {
    const finally_log guard{log};
    try {
        for (int i = 0; i < 3; ++i) {
            co_await asyncio::sleep(1s);
            log->push_back("yield " + std::to_string(i));
            co_yield i;
        }
    } catch (const asyncio::generator_exit&) {
        log->push_back(at("generator_exit"));
        throw;
    } catch (const asyncio::cancelled_error&) {
        log->push_back(at("cancelled_error"));
        throw;
    }
}

task<void> consume_one(async_generator<int>* gen, log_t* log) {
    const std::optional<int> v = co_await gen->next();
    log->push_back("consumer got " + show(v));
}

task<void> drop_during_next_main(log_t* log) {
    std::optional<async_generator<int>> gen(slow_logged(log));
    auto consumer = asyncio::create_task(consume_one(&*gen, log));
    co_await asyncio::sleep(0s); // the consumer is inside the generator's sleep
    log->emplace_back("dropping");
    gen.reset();
    co_await consumer;
    log->emplace_back("consumer done");
    for (int i = 0; i < 3; ++i) {
        co_await asyncio::sleep(0s);
    }
    log->emplace_back("main end");
}

TEST_CASE("async_generator: a generator dropped while another task is inside its next() finishes "
          "that next() and is then closed by the finalizer's task") {
    // py (tests/py/agen_obs.py): dropped inside next(): ['dropping', 'yield 0', 'consumer got 0',
    //     'consumer done', 'GeneratorExit@1', 'finally', 'main end'] reports []
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(drop_during_next_main(&log), &reports);
    INFO(describe(reports));
    CHECK(reports.items.empty());
    REQUIRE(log == log_t{"dropping", "yield 0", "consumer got 0", "consumer done",
                         "generator_exit@1", "finally", "main end"});
    REQUIRE(scope.balanced());
}

task<void> cancel_closer_main(log_t* log) {
    {
        auto gen = slow_logged(log);
        (void)co_await gen.next();
    } // dropped: the finalizer creates the closing task in the next iteration
    co_await asyncio::sleep(0s); // the closing task exists now and has not started
    std::vector<asyncio::task_ref> closers;
    for (const auto& t : asyncio::all_tasks()) {
        if (t != asyncio::current_task()) {
            closers.push_back(t);
        }
    }
    log->push_back("closers " + std::to_string(closers.size()));
    for (auto& t : closers) {
        static_cast<void>(t.cancel());
    }
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    for (const auto& t : closers) {
        log->push_back(std::string("closer cancelled ") + (t.cancelled() ? "true" : "false"));
    }
    log->emplace_back("main end");
}

TEST_CASE("async_generator: a closing task cancelled before it starts throws cancelled_error into "
          "the generator, whose cleanup then runs") {
    // py (tests/py/agen_obs.py): closer cancelled before it starts: ['yield 0', 'closers 1',
    //     'CancelledError@1', 'finally', 'closer cancelled True', 'main end'] reports []
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(cancel_closer_main(&log), &reports);
    INFO(describe(reports));
    CHECK(reports.items.empty());
    REQUIRE(log == log_t{"yield 0", "closers 1", "cancelled_error@1", "finally",
                         "closer cancelled true", "main end"});
    REQUIRE(scope.balanced());
}

task<void> main_throws(log_t* log) {
    auto gen = finally_awaits(log);
    (void)co_await gen.next();
    log->emplace_back("main throws");
    throw std::invalid_argument("main failed");
}

TEST_CASE("async_generator: run closes the suspended generator of a main that throws before "
          "rethrowing") {
    // py: main raises: ['main raises', 'cleanup start', 'cleanup end', 'run raised main failed']
    log_t log;
    captured_reports reports;
    try {
        run_virtual(main_throws(&log), &reports);
    } catch (const std::invalid_argument& e) {
        log.push_back(std::string("run threw ") + e.what());
    }
    REQUIRE(log == log_t{"main throws", "cleanup start", "cleanup end", "run threw main failed"});
    REQUIRE(reports.items.empty());
}

async_generator<int> names_its_exit(log_t* log) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_yield 2;
    } catch (const asyncio::generator_exit&) {
        log->emplace_back("gen got generator_exit");
        pending = std::current_exception();
    } catch (const asyncio::cancelled_error&) {
        log->emplace_back("gen got cancelled_error");
        pending = std::current_exception();
    }
    log->emplace_back("cleanup start");
    try {
        co_await asyncio::sleep(0s);
    } catch (const asyncio::cancelled_error&) {
        log->emplace_back("cleanup await raised cancelled_error");
        throw;
    }
    log->emplace_back("cleanup end");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> worker_owning_generator(log_t* log) {
    auto gen = names_its_exit(log);
    (void)co_await gen.next();
    log->emplace_back("worker waits");
    co_await asyncio::sleep(100s);
}

task<void> spawns_worker_main(log_t* log) {
    (void)asyncio::create_task(worker_owning_generator(log));
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run closes the suspended generator of a task it cancels at shutdown, "
          "running its awaiting cleanup") {
    // py: worker-owned: ['worker waits', 'main end', 'gen got GeneratorExit', 'cleanup start',
    //                    'cleanup end', 'after run']
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(spawns_worker_main(&log), &reports);
    log.emplace_back("after run");
    CHECK(log == log_t{"worker waits", "main end", "gen got generator_exit", "cleanup start",
                       "cleanup end", "after run"});
    INFO(describe(reports));
    CHECK(reports.items.empty());
    REQUIRE(scope.balanced());
}

task<void> spawns_worker_and_uses_outside_main(async_generator<int>* outside, log_t* log) {
    (void)asyncio::create_task(worker_owning_generator(log));
    (void)co_await outside->next();
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run closes both a cancelled task's generator and a generator owned "
          "outside the run, each cleanup running to its end") {
    // py: worker-owned + global: ['worker waits', 'main end', 'gen got GeneratorExit',
    //     'cleanup start', 'gen got GeneratorExit', 'cleanup start', 'cleanup end', 'cleanup end',
    //     'after run']
    log_t log;
    captured_reports reports;
    async_generator<int> outside = names_its_exit(&log);
    run_virtual(spawns_worker_and_uses_outside_main(&outside, &log), &reports);
    log.emplace_back("after run");
    CHECK(log == log_t{"worker waits", "main end", "gen got generator_exit", "cleanup start",
                       "gen got generator_exit", "cleanup start", "cleanup end", "cleanup end",
                       "after run"});
    INFO(describe(reports));
    CHECK(reports.items.empty());
}

async_generator<int> slow_cleanup(log_t* log) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_yield 2;
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("cleanup start");
    try {
        co_await asyncio::sleep(10s);
    } catch (const asyncio::cancelled_error&) {
        log->push_back(at("cleanup cancelled"));
        throw;
    }
    log->emplace_back("cleanup end");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> drops_slow_cleanup_main(log_t* log) {
    {
        auto gen = slow_cleanup(log);
        (void)co_await gen.next();
    }
    co_await asyncio::sleep(1s);
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run cancels the finalizer's closing task like any other task when main "
          "ends while it still awaits") {
    // py: finalizer task cancelled at shutdown: ['cleanup start', 'main end',
    //     'cleanup cancelled at <main end>', 'after run']
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(drops_slow_cleanup_main(&log), &reports);
    log.emplace_back("after run");
    REQUIRE(log == log_t{"cleanup start", "main end", "cleanup cancelled@1", "after run"});
    INFO(describe(reports));
    REQUIRE(reports.items.empty());
}

async_generator<int> tracked_inner(log_t* log) {
    tracked local(1);
    std::exception_ptr pending;
    try {
        for (int i = 0; i < 3; ++i) {
            co_yield i;
        }
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("inner cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

async_generator<int> tracked_outer(log_t* log) {
    tracked local(2);
    std::exception_ptr pending;
    try {
        auto source = tracked_inner(log);
        while (auto x = co_await source.next()) {
            co_yield *x * 10;
        }
    } catch (...) {
        pending = std::current_exception();
    }
    log->emplace_back("outer cleanup");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> nested_outside_main(async_generator<int>* gen, log_t* log) {
    log->push_back("got " + show(co_await gen->next()));
    log->emplace_back("main end");
}

task<void> nested_owned_main(log_t* log) {
    auto gen = tracked_outer(log);
    log->push_back("got " + show(co_await gen.next()));
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run closes nested generators left suspended, each cleanup running "
          "once") {
    // py: nested left suspended (outside): ['got 0', 'main end', 'inner cleanup', 'outer cleanup',
    //     'after run']
    // py: nested left suspended (main): ['got 0', 'main end', 'outer cleanup', 'inner cleanup',
    //     'after run']
    // (asyncio closes them concurrently from a WeakSet: the order of the two cleanups varies.)
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    SECTION("the outer generator owned outside the run") {
        {
            async_generator<int> gen = tracked_outer(&log);
            run_virtual(nested_outside_main(&gen, &log), &reports);
        }
    }
    SECTION("the outer generator owned by main's frame") {
        run_virtual(nested_owned_main(&log), &reports);
    }
    log.emplace_back("after run");
    REQUIRE(log.size() == 5);
    CHECK(log[0] == "got 0");
    CHECK(log[1] == "main end");
    const log_t cleanups{log[2], log[3]};
    CHECK((cleanups == log_t{"inner cleanup", "outer cleanup"} ||
           cleanups == log_t{"outer cleanup", "inner cleanup"}));
    CHECK(log[4] == "after run");
    INFO(describe(reports));
    CHECK(reports.items.empty());
    REQUIRE(scope.balanced());
}

task<void> ignoring_outside_main(async_generator<int>* gen, log_t* log) {
    (void)co_await gen->next();
    log->emplace_back("main end");
}

TEST_CASE("async_generator: run reports a suspended generator that ignores generator_exit at "
          "shutdown through the exception handler") {
    // py: main end / ign: caught GeneratorExit /
    //     handler: an error occurred during closing of asynchronous generator |
    //              RuntimeError('async generator ignored GeneratorExit') / after run
    log_t log;
    bool keep_ignoring = true;
    captured_reports reports;
    async_generator<int> gen = ignores_exit(&log, &keep_ignoring);
    run_virtual(ignoring_outside_main(&gen, &log), &reports);
    log.emplace_back("after run");
    REQUIRE(log == log_t{"main end", "caught generator_exit", "after run"});
    REQUIRE(reports.items.size() == 1);
    CHECK(reports.contains("an error occurred during closing of asynchronous generator"));
    REQUIRE(reports.items[0].exception);
    CHECK(what_of(reports.items[0].exception) == "async generator ignored GeneratorExit");
}

task<void> ignoring_dropped_main(log_t* log) {
    bool keep_ignoring = true;
    {
        auto gen = ignores_exit(log, &keep_ignoring);
        (void)co_await gen.next();
    }
    for (int i = 0; i < 3; ++i) {
        co_await asyncio::sleep(0s);
    }
    log->emplace_back("main end");
}

TEST_CASE("async_generator: a dropped generator that ignores generator_exit is reported as the "
          "closing task's unretrieved exception") {
    // py: ign: caught GeneratorExit /
    //     handler: Task exception was never retrieved |
    //              RuntimeError('async generator ignored GeneratorExit') / main end (drop)
    lifetime_scope scope;
    log_t log;
    captured_reports reports;
    run_virtual(ignoring_dropped_main(&log), &reports);
    REQUIRE(log == log_t{"caught generator_exit", "main end"});
    REQUIRE(reports.items.size() == 1);
    CHECK(reports.contains("Task exception was never retrieved"));
    REQUIRE(reports.items[0].exception);
    CHECK(what_of(reports.items[0].exception) == "async generator ignored GeneratorExit");
}

// ---- lifetimes --------------------------------------------------------------------------------

async_generator<tracked> tracked_values(int n, bool throw_at_end) {
    tracked local(-1);
    for (int i = 0; i < n; ++i) {
        co_await asyncio::sleep(1s);
        co_yield tracked(i);
    }
    if (throw_at_end) {
        throw std::invalid_argument("boom");
    }
}

task<void> exhaust_tracked_main(std::vector<int>* values, long* alive_while_holding) {
    auto gen = tracked_values(3, false);
    while (auto item = co_await gen.next()) {
        // The frame's local, the co_yield operand (a temporary that lives until the end of its
        // full-expression, when the generator resumes) and the consumer's item: the promise
        // keeps no copy of the value.
        *alive_while_holding = lifetime_counter::alive();
        values->push_back(item->value);
    }
}

TEST_CASE("async_generator: lifetime - exhausting a generator destroys its locals and every "
          "yielded value exactly once") {
    lifetime_scope scope;
    std::vector<int> values;
    long alive_while_holding = -1;
    run_virtual(exhaust_tracked_main(&values, &alive_while_holding));
    REQUIRE(values == std::vector<int>{0, 1, 2});
    CHECK(alive_while_holding == 3);
    REQUIRE(scope.balanced());
}

task<void> drop_tracked_main(long* alive_after_drop) {
    {
        auto unstarted = tracked_values(3, false);
        auto gen = tracked_values(3, false);
        (void)co_await gen.next();
    }
    // The unstarted frame is gone; the started one (its local and its co_yield operand) waits
    // for the closing task.
    *alive_after_drop = lifetime_counter::alive();
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
}

TEST_CASE("async_generator: lifetime - a generator dropped early, started or not, destroys its "
          "locals exactly once") {
    lifetime_scope scope;
    long alive_after_drop = -1;
    captured_reports reports;
    run_virtual(drop_tracked_main(&alive_after_drop), &reports);
    CHECK(alive_after_drop == 2);
    REQUIRE(reports.items.empty());
    REQUIRE(scope.balanced());
}

task<void> throw_tracked_main(log_t* log) {
    auto gen = tracked_values(2, true);
    try {
        while (auto item = co_await gen.next()) {
            log->push_back(std::to_string(item->value));
        }
    } catch (const std::invalid_argument& e) {
        log->emplace_back(e.what());
    }
}

TEST_CASE("async_generator: lifetime - a generator that throws destroys its locals and values "
          "exactly once") {
    lifetime_scope scope;
    log_t log;
    run_virtual(throw_tracked_main(&log));
    REQUIRE(log == log_t{"0", "1", "boom"});
    REQUIRE(scope.balanced());
}

task<void> consume_tracked(async_generator<tracked>* gen, std::vector<int>* values) {
    while (auto item = co_await gen->next()) {
        values->push_back(item->value);
    }
}

task<void> cancel_tracked_main(std::vector<int>* values, bool* cancelled) {
    auto gen = tracked_values(5, false);
    auto consumer = asyncio::create_task(consume_tracked(&gen, values));
    co_await asyncio::sleep(2500ms);
    consumer.cancel();
    try {
        co_await consumer;
    } catch (const asyncio::cancelled_error&) {
        *cancelled = true;
    }
}

TEST_CASE("async_generator: lifetime - cancelling the consumer destroys the generator's locals "
          "and values exactly once") {
    lifetime_scope scope;
    std::vector<int> values;
    bool cancelled = false;
    run_virtual(cancel_tracked_main(&values, &cancelled));
    REQUIRE(cancelled);
    REQUIRE(values == std::vector<int>{0, 1});
    REQUIRE(scope.balanced());
}

task<void> aclose_tracked_main(std::vector<int>* values, long* alive_after_aclose) {
    auto gen = tracked_values(5, false);
    {
        const std::optional<tracked> first = co_await gen.next();
        values->push_back(first ? first->value : -1);
    }
    co_await gen.aclose();
    *alive_after_aclose = lifetime_counter::alive(); // the frame is finished, its locals gone
}

TEST_CASE("async_generator: lifetime - aclose destroys the generator's locals and values exactly "
          "once") {
    lifetime_scope scope;
    std::vector<int> values;
    long alive_after_aclose = -1;
    run_virtual(aclose_tracked_main(&values, &alive_after_aclose));
    REQUIRE(values == std::vector<int>{0});
    CHECK(alive_after_aclose == 0);
    REQUIRE(scope.balanced());
}

task<void> orphan_main(async_generator<tracked>* keep) {
    auto gen = tracked_values(5, false);
    (void)co_await gen.next();
    *keep = tracked_values(5, false);
    (void)co_await keep->next();
}

TEST_CASE("async_generator: lifetime - generators left suspended when run ends are destroyed "
          "exactly once, whoever owns them") {
    lifetime_scope scope;
    captured_reports reports;
    {
        async_generator<tracked> outside;
        run_virtual(orphan_main(&outside), &reports);
        CHECK(lifetime_counter::alive() == 0); // both closed by run's shutdown
    }
    REQUIRE(reports.items.empty());
    REQUIRE(scope.balanced());
}

task<void> drop_before_loop_dies(async_generator<tracked>* gen) {
    (void)co_await gen->next();
    *gen = async_generator<tracked>(); // handed to the loop's finalizer
}

TEST_CASE("async_generator: lifetime - a generator dropped just before its loop is destroyed is "
          "destroyed with the loop") {
    lifetime_scope scope;
    std::vector<std::string> reports;
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        loop.set_exception_handler(
            [&reports](asyncio::event_loop&, const asyncio::exception_context& c) {
                reports.push_back(c.message);
            });
        auto gen = tracked_values(5, false);
        loop.run_until_complete(drop_before_loop_dies(&gen));
    }
    // py (tests/py/agen_obs.py): dropped just before the loop goes: ['Task was destroyed but it
    //     is pending!']
    CHECK(reports == std::vector<std::string>{"Task was destroyed but it is pending!"});
    REQUIRE(scope.balanced());
}

task<void> nap(std::chrono::milliseconds d) {
    co_await asyncio::sleep(d);
}

task<void> consume_tracked_forever(log_t* log) {
    auto gen = tracked_values(5, false);
    (void)co_await gen.next();
    log->emplace_back("inside the generator's sleep");
    (void)co_await gen.next(); // the loop is destroyed while the generator sleeps here
    log->emplace_back("not reached");
}

TEST_CASE("async_generator: lifetime - a generator suspended inside an await of a task abandoned "
          "with its loop is destroyed exactly once") {
    lifetime_scope scope;
    log_t log;
    std::vector<std::string> reports;
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        loop.set_exception_handler(
            [&reports](asyncio::event_loop&, const asyncio::exception_context& c) {
                reports.push_back(c.message);
            });
        auto consumer = loop.create_task(consume_tracked_forever(&log));
        loop.run_until_complete(nap(1500ms));
    }
    // py (tests/py/agen_obs.py): abandoned with its loop: ["inside the generator's sleep"]
    //     ['Task was destroyed but it is pending!']
    CHECK(reports == std::vector<std::string>{"Task was destroyed but it is pending!"});
    REQUIRE(log == log_t{"inside the generator's sleep"});
    REQUIRE(scope.balanced());
}

} // namespace
