// SPDX-License-Identifier: MIT
// Tests for the loop's debug mode (event_loop::set_debug, run_options::debug, ASYNCIO_CPP_DEBUG):
// slow callbacks and task steps, creation sites, the thread check. Slow steps are made slow on
// the virtual clock (a callback advances it), never by waiting. The CPython twin is
// tests/py/debug_mode.py.

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::captured_reports;

namespace {

// Makes the running callback or step "take" `d` of virtual time.
void take(std::chrono::nanoseconds d) {
    asyncio::get_running_loop().core().virtual_now_ += d.count();
}

asyncio::task<void> slow_step(std::chrono::nanoseconds d) {
    take(d);
    co_return;
}

asyncio::task<void> fails() {
    throw std::runtime_error("boom");
    co_return;
}

asyncio::task<void> forever() {
    co_await asyncio::sleep(1000s);
}

// Runs `body` with asyncio::run on a virtual-time loop in debug mode, collecting reports.
template <class T>
T run_debug(asyncio::task<T> body, captured_reports* reports, bool debug = true) {
    asyncio::run_options opts;
    opts.clock = asyncio::clock_kind::virtual_time;
    opts.debug = debug;
    opts.handler = [reports](asyncio::event_loop&, const asyncio::exception_context& ctx) {
        reports->items.push_back(ctx);
    };
    return asyncio::run(std::move(body), std::move(opts));
}

std::vector<std::string> messages(const captured_reports& r) {
    std::vector<std::string> out;
    for (const auto& c : r.items) {
        out.push_back(c.message);
    }
    return out;
}

} // namespace

TEST_CASE(
    "debug mode is off by default and set_debug, run_options::debug and ASYNCIO_CPP_DEBUG turn "
    "it on",
    "[debug]") {
    ::unsetenv("ASYNCIO_CPP_DEBUG");
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        CHECK_FALSE(loop.get_debug());
        // py: get_debug True 0.1
        CHECK(loop.slow_callback_duration() == 100ms);
        loop.set_debug(true);
        CHECK(loop.get_debug());
    }
    captured_reports r;
    CHECK(run_debug(
        []() -> asyncio::task<bool> { co_return asyncio::get_running_loop().get_debug(); }(), &r));
    // py: env 0 -> True (PYTHONASYNCIODEBUG: any non-empty value)
    ::setenv("ASYNCIO_CPP_DEBUG", "0", 1);
    {
        asyncio::event_loop loop;
        CHECK(loop.get_debug());
    }
    ::setenv("ASYNCIO_CPP_DEBUG", "", 1);
    {
        asyncio::event_loop loop;
        CHECK_FALSE(loop.get_debug());
    }
    ::unsetenv("ASYNCIO_CPP_DEBUG");
}

TEST_CASE("debug mode: a callback that takes slow_callback_duration or more is reported",
          "[debug]") {
    captured_reports r;
    run_debug(
        []() -> asyncio::task<void> {
            auto& loop = asyncio::get_running_loop();
            loop.call_soon([] { take(150ms); });
            loop.call_soon([] { take(99ms); });
            loop.call_soon([] { take(100ms); }); // >= the threshold, as CPython's `dt >= ...`
            co_await asyncio::sleep(0ms);
            co_await asyncio::sleep(0ms);
        }(),
        &r);
    // py: Executing <Handle f() at debug_mode.py:30 created at debug_mode.py:50> took 0.150 seconds
    CHECK(messages(r) == std::vector<std::string>{"Executing <Handle> took 0.150 seconds",
                                                  "Executing <Handle> took 0.100 seconds"});
}

TEST_CASE("debug mode: a slow task step names the task and where it was created", "[debug]") {
    captured_reports r;
    const unsigned line = run_debug(
        []() -> asyncio::task<unsigned> {
            const unsigned at = __LINE__ + 1;
            auto t = asyncio::create_task(slow_step(125ms));
            co_await t;
            co_return at;
        }(),
        &r);
    // py: Executing <Task finished name='Task-2' coro=<slow_step() done, defined at
    // py: debug_mode.py:38> result=None created at tasks.py:410> took 0.125 seconds
    REQUIRE(r.items.size() == 1);
    const std::string& m = r.items[0].message;
    INFO(m);
    CHECK(m.rfind("Executing <Task finished name='Task-2' created at ", 0) == 0);
    CHECK(m.find("debug_mode_test.cpp:" + std::to_string(line) + " in ") != std::string::npos);
    CHECK(m.find("> took 0.125 seconds") != std::string::npos);
}

TEST_CASE("debug mode: slow_callback_duration sets the threshold and when off nothing is timed",
          "[debug]") {
    captured_reports r;
    run_debug(
        []() -> asyncio::task<void> {
            asyncio::get_running_loop().set_slow_callback_duration(200ms);
            co_await asyncio::create_task(slow_step(150ms));
            co_await asyncio::create_task(slow_step(250ms));
        }(),
        &r);
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].message.find("took 0.250 seconds") != std::string::npos);

    captured_reports off;
    run_debug(
        []() -> asyncio::task<void> {
            asyncio::get_running_loop().call_soon([] { take(1s); });
            co_await asyncio::create_task(slow_step(1s));
        }(),
        &off, false);
    CHECK(off.items.empty());
}

TEST_CASE("debug mode: an exception never retrieved is reported with where the task was created",
          "[debug]") {
    captured_reports r;
    const unsigned line = run_debug(
        []() -> asyncio::task<unsigned> {
            const unsigned at = __LINE__ + 1;
            (void)asyncio::create_task(fails());
            co_await asyncio::sleep(0ms);
            co_await asyncio::sleep(0ms);
            co_return at;
        }(),
        &r);
    // py: Task exception was never retrieved
    REQUIRE(r.items.size() == 1);
    const std::string& m = r.items[0].message;
    INFO(m);
    CHECK(m.rfind("Task exception was never retrieved\ncreated at ", 0) == 0);
    CHECK(m.find("debug_mode_test.cpp:" + std::to_string(line)) != std::string::npos);
    CHECK(r.items[0].task_name == "Task-2");

    captured_reports off; // without debug mode: the message alone
    run_debug(
        []() -> asyncio::task<void> {
            (void)asyncio::create_task(fails());
            co_await asyncio::sleep(0ms);
            co_await asyncio::sleep(0ms);
        }(),
        &off, false);
    CHECK(messages(off) == std::vector<std::string>{"Task exception was never retrieved"});
}

TEST_CASE("debug mode: a task still pending when its loop is destroyed is reported with its "
          "creation site",
          "[debug]") {
    captured_reports r;
    unsigned line = 0;
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        loop.set_debug(true);
        loop.set_exception_handler([&r](asyncio::event_loop&, const asyncio::exception_context& c) {
            r.items.push_back(c);
        });
        line = __LINE__ + 1;
        (void)loop.create_task(forever());
        loop.run_until_complete(asyncio::sleep(1ms));
    }
    REQUIRE(r.items.size() == 1);
    const std::string& m = r.items[0].message;
    INFO(m);
    CHECK(m.rfind("Task was destroyed but it is pending!\ncreated at ", 0) == 0);
    CHECK(m.find("debug_mode_test.cpp:" + std::to_string(line)) != std::string::npos);
}

TEST_CASE("debug mode: call_soon, call_later and call_at from another thread raise, "
          "call_soon_threadsafe does not",
          "[debug][threads]") {
    captured_reports r;
    const std::vector<std::string> seen = run_debug(
        []() -> asyncio::task<std::vector<std::string>> {
            auto& loop = asyncio::get_running_loop();
            std::vector<std::string> out;
            std::thread th([&] {
                auto attempt = [&](auto&& schedule) {
                    try {
                        schedule();
                        out.emplace_back("no error");
                    } catch (const std::runtime_error& e) {
                        out.emplace_back(e.what());
                    }
                };
                attempt([&] { (void)loop.call_soon([] {}); });
                attempt([&] { (void)loop.call_later(1ms, [] {}); });
                attempt([&] { (void)loop.call_at(loop.time(), [] {}); });
                attempt([&] { loop.call_soon_threadsafe([] {}); });
            });
            th.join();
            (void)loop.call_soon([] {}); // the loop's own thread: fine
            co_await asyncio::sleep(0ms);
            co_return out;
        }(),
        &r);
    // py: other thread: Non-thread-safe operation invoked on an event loop other than the current
    // py: one
    const std::string msg =
        "Non-thread-safe operation invoked on an event loop other than the current one";
    CHECK(seen == std::vector<std::string>{msg, msg, msg, "no error"});
    CHECK(r.items.empty());
}
