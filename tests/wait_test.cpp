// SPDX-License-Identifier: MIT
// Tests for wait.hpp: shield, wait and as_completed against CPython 3.13 (asyncio-semantics.md
// sections 2 and 6). Each test case is a twin of one case of tests/py/wait.py, run on a virtual
// clock starting at 0 (tests/py/wait.expected).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using asyncio::testing::log_t;
using asyncio::testing::now_ms;
using asyncio::testing::py_bool;
using asyncio::testing::run_case;
using asyncio::testing::run_virtual;

namespace {

using handle_t = asyncio::task_handle<std::string>;

asyncio::task<std::string> work(log_t* log, std::string name, std::chrono::milliseconds delay,
                                bool fail = false) {
    try {
        co_await asyncio::sleep(delay);
    } catch (const asyncio::cancelled_error&) {
        log->push_back(name + " cancelled at " + now_ms());
        throw;
    }
    if (fail) {
        throw std::invalid_argument(name);
    }
    log->push_back(name + " done at " + now_ms());
    co_return name;
}

asyncio::task<std::string> shield_waiter(handle_t inner) {
    co_return co_await asyncio::shield(inner);
}

asyncio::task<> shield_cases(log_t* log) {
    auto inner = asyncio::create_task(work(log, "inner", 200ms));
    auto w = asyncio::create_task(shield_waiter(inner));
    co_await asyncio::sleep(100ms);
    w.cancel();
    try {
        (void)co_await w;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("waiter cancelled at " + now_ms() + " inner done " + py_bool(inner.done()));
    }
    const std::string r = co_await inner;
    log->push_back("inner result " + r + " at " + now_ms());
    auto inner2 = asyncio::create_task(work(log, "inner2", 200ms));
    auto outer = asyncio::shield(inner2);
    co_await asyncio::sleep(100ms);
    inner2.cancel();
    try {
        (void)co_await outer;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("cancelling the inner cancels the shield: " + py_bool(outer.cancelled()));
    }
    auto done = asyncio::create_task(work(log, "done", 0ms));
    co_await asyncio::sleep(10ms);
    log->push_back("shield of a done task: " + co_await asyncio::shield(done));
    const std::string lazy = co_await asyncio::shield(work(log, "lazy", 100ms));
    log->push_back("shield result " + lazy + " at " + now_ms());
}

std::string flags(const std::vector<handle_t>& all, const std::vector<handle_t>& part) {
    std::string out = "[";
    for (std::size_t i = 0; i < all.size(); ++i) {
        out += (i != 0 ? ", " : "") +
               py_bool(std::find(part.begin(), part.end(), all[i]) != part.end());
    }
    return out + "]";
}

asyncio::task<> wait_cases(log_t* log) {
    std::vector<handle_t> ts{asyncio::create_task(work(log, "a", 300ms)),
                             asyncio::create_task(work(log, "b", 100ms)),
                             asyncio::create_task(work(log, "c", 200ms, true))};
    auto [done1, pending1] = co_await asyncio::wait(ts, asyncio::first_completed);
    log->push_back("first_completed at " + now_ms() + " done " + flags(ts, done1) + " pending " +
                   flags(ts, pending1));
    auto [done2, pending2] = co_await asyncio::wait(ts, asyncio::first_exception);
    log->push_back("first_exception at " + now_ms() + " done " + flags(ts, done2));
    auto [done3, pending3] = co_await asyncio::wait(ts);
    log->push_back("all_completed at " + now_ms() + " done " + flags(ts, done3));
    (void)ts[2].exception(); // retrieved, as Python's task is when it goes away
    std::vector<handle_t> slow{asyncio::create_task(work(log, "d", 1s))};
    auto [done4, pending4] = co_await asyncio::wait(slow, 100ms);
    log->push_back("timeout at " + now_ms() + " done " + std::to_string(done4.size()) +
                   " pending " + std::to_string(pending4.size()) + " cancelled " +
                   py_bool(slow[0].cancelled()));
    slow[0].cancel();
    try {
        (void)asyncio::wait(std::vector<handle_t>{});
    } catch (const std::invalid_argument& e) {
        log->push_back("empty: " + std::string(e.what()));
    }
    auto t = asyncio::create_task(work(log, "e", 0ms));
    co_await asyncio::sleep(10ms);
    const auto start = asyncio::get_running_loop().time();
    std::vector<handle_t> twice{t, t};
    auto [done5, pending5] = co_await asyncio::wait(twice);
    log->push_back("already done: done " + std::to_string(done5.size()) + " time moved " +
                   std::to_string((asyncio::get_running_loop().time() - start).count()));
}

asyncio::task<> as_completed_cases(log_t* log) {
    std::vector<handle_t> ts{asyncio::create_task(work(log, "a", 300ms)),
                             asyncio::create_task(work(log, "b", 100ms)),
                             asyncio::create_task(work(log, "c", 200ms))};
    {
        auto ac = asyncio::as_completed(ts);
        while (auto t = co_await ac.next()) {
            const std::string r = co_await *t;
            log->push_back("async for: " + r + " at " + now_ms() + " original " +
                           py_bool(std::find(ts.begin(), ts.end(), *t) != ts.end()));
        }
    }
    {
        std::vector<asyncio::task<std::string>> lazy;
        lazy.push_back(work(log, "x", 200ms));
        lazy.push_back(work(log, "y", 100ms));
        auto ac = asyncio::as_completed(lazy);
        for (int i = 0; i < 2; ++i) {
            log->push_back("for: " + co_await ac.next_result() + " at " + now_ms());
        }
    }
    std::vector<handle_t> two{asyncio::create_task(work(log, "slow", 1s)),
                              asyncio::create_task(work(log, "fast", 100ms))};
    try {
        auto ac = asyncio::as_completed(two, 500ms);
        while (auto t = co_await ac.next()) {
            log->push_back("with timeout: " + co_await *t + " at " + now_ms());
        }
    } catch (const asyncio::timeout_error&) {
        log->push_back("as_completed TimeoutError at " + now_ms());
    }
    two[0].cancel();
}

} // namespace

TEST_CASE("shield: cancelling the awaiter leaves the inner task running, cancelling the inner "
          "cancels the shield, and a done inner gives its result") {
    CHECK(run_case(shield_cases) ==
          log_t{"waiter cancelled at 100 inner done False", "inner done at 200",
                "inner result inner at 200", "inner2 cancelled at 300",
                "cancelling the inner cancels the shield: True", "done done at 300",
                "shield of a done task: done", "lazy done at 410", "shield result lazy at 410"});
}

TEST_CASE("wait: first_completed, first_exception, all_completed, a timeout that cancels "
          "nothing, an empty set, duplicates, a condition already true") {
    CHECK(run_case(wait_cases) ==
          log_t{"b done at 100",
                "first_completed at 100 done [False, True, False] pending [True, False, True]",
                "first_exception at 200 done [False, True, True]", "a done at 300",
                "all_completed at 300 done [True, True, True]",
                "timeout at 400 done 0 pending 1 cancelled False",
                "empty: Set of Tasks/Futures is empty.", "d cancelled at 400", "e done at 400",
                "already done: done 1 time moved 0"});
}

TEST_CASE("as_completed: tasks in completion order (async for gives the originals), plain "
          "iteration gives results, a timeout raises timeout_error") {
    CHECK(run_case(as_completed_cases) ==
          log_t{"b done at 100", "async for: b at 100 original True", "c done at 200",
                "async for: c at 200 original True", "a done at 300",
                "async for: a at 300 original True", "y done at 400", "for: y at 400",
                "x done at 500", "for: x at 500", "fast done at 600", "with timeout: fast at 600",
                "as_completed TimeoutError at 1000", "slow cancelled at 1000"});
}
