// SPDX-License-Identifier: MIT
// Tests for timeouts.hpp: timeout, timeout_at, timeout_scope and wait_for against CPython 3.13
// (asyncio-semantics.md section 6). Each test case is a twin of one case of tests/py/timeouts.py,
// which prints, on a virtual clock starting at 0 for each case, the lines asserted here
// (tests/py/timeouts.expected).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <optional>
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

/// Records `t.expired()` into `out` when the body's frame unwinds (the scope is gone once the
/// timeout has raised).
struct note_expiry {
    asyncio::timeout_scope& t;
    bool& out;
    ~note_expiry() { out = t.expired(); }
};

int cancelling_now() {
    return asyncio::current_task().cancelling();
}

asyncio::task<> fast_body(log_t* log) {
    bool expired = true;
    co_await asyncio::timeout(100ms, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
        co_await asyncio::sleep(50ms);
        expired = t.expired();
    });
    log->push_back("fast: expired " + py_bool(expired) + " at " + now_ms());
}

asyncio::task<> slow_body(log_t* log) {
    bool expired = false;
    try {
        co_await asyncio::timeout(100ms, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
            const note_expiry note{t, expired};
            co_await asyncio::sleep(1s);
        });
    } catch (const asyncio::timeout_error& e) {
        log->push_back("slow: TimeoutError '" + std::string(e.what()) + "' expired " +
                       py_bool(expired) + " at " + now_ms() + " cancelling " +
                       std::to_string(cancelling_now()));
    }
}

asyncio::task<> no_await(log_t* log) {
    const bool expired = co_await asyncio::timeout(
        0ms, [](asyncio::timeout_scope& t) -> asyncio::task<bool> { co_return t.expired(); });
    log->push_back("no await: expired " + py_bool(expired));
}

asyncio::task<> already_expired(log_t* log) {
    try {
        co_await asyncio::timeout(-1s, [&]() -> asyncio::task<> {
            co_await asyncio::sleep(0s);
            log->push_back("already expired: not reached");
        });
    } catch (const asyncio::timeout_error&) {
        log->push_back("already expired: TimeoutError at " + now_ms());
    }
}

asyncio::task<> nested_outer_first(log_t* log) {
    try {
        co_await asyncio::timeout(100ms, [&]() -> asyncio::task<> {
            bool inner_expired = true;
            try {
                co_await asyncio::timeout(500ms,
                                          [&](asyncio::timeout_scope& inner) -> asyncio::task<> {
                                              const note_expiry note{inner, inner_expired};
                                              co_await asyncio::sleep(1s);
                                          });
            } catch (const asyncio::cancelled_error&) {
                log->push_back("nested: inner let CancelledError through, inner expired " +
                               py_bool(inner_expired));
                throw;
            }
        });
    } catch (const asyncio::timeout_error&) {
        log->push_back("nested: outer TimeoutError, outer expired True at " + now_ms());
    }
}

asyncio::task<> nested_inner_first(log_t* log) {
    const bool outer_expired =
        co_await asyncio::timeout(500ms, [&](asyncio::timeout_scope& outer) -> asyncio::task<bool> {
            try {
                co_await asyncio::timeout(100ms,
                                          []() -> asyncio::task<> { co_await asyncio::sleep(1s); });
            } catch (const asyncio::timeout_error&) {
                log->push_back("nested: inner TimeoutError at " + now_ms());
            }
            co_await asyncio::sleep(100ms);
            co_return outer.expired();
        });
    log->push_back("nested: outer expired " + py_bool(outer_expired) + " at " + now_ms());
}

asyncio::task<> swallowed(log_t* log) {
    const bool expired =
        co_await asyncio::timeout(100ms, [&](asyncio::timeout_scope& t) -> asyncio::task<bool> {
            try {
                co_await asyncio::sleep(1s);
            } catch (const asyncio::cancelled_error&) {
                log->push_back("swallowed: body saw CancelledError");
            }
            co_return t.expired();
        });
    log->push_back("swallowed: no error, expired " + py_bool(expired) + " cancelling " +
                   std::to_string(cancelling_now()));
}

asyncio::task<> external_body(log_t* log) {
    try {
        co_await asyncio::timeout(1s, []() -> asyncio::task<> { co_await asyncio::sleep(2s); });
    } catch (const asyncio::cancelled_error&) {
        log->push_back("external: CancelledError passes through");
        throw;
    }
}

asyncio::task<> external_cancel(log_t* log) {
    auto t = asyncio::create_task(external_body(log));
    co_await asyncio::sleep(100ms);
    t.cancel();
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("external: task cancelled " + py_bool(t.cancelled()));
    }
}

std::string when_ms(const asyncio::timeout_scope& t) {
    const auto w = t.when();
    if (!w) {
        return "None";
    }
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(w->time_since_epoch()).count());
}

asyncio::task<> reschedule(log_t* log) {
    auto& loop = asyncio::get_running_loop();
    co_await asyncio::timeout(100ms, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
        t.reschedule(loop.time() + 300ms);
        co_await asyncio::sleep(200ms);
        log->push_back("reschedule: when " + when_ms(t) + " still running at " + now_ms());
        t.reschedule(std::nullopt);
        co_await asyncio::sleep(1s);
        log->push_back("reschedule: none, at " + now_ms());
    });
    std::string error;
    // The scope lives only while the body runs: its state is checked from inside.
    try {
        co_await asyncio::timeout(100ms, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
            try {
                co_await asyncio::sleep(1s);
            } catch (const asyncio::cancelled_error&) {
                try {
                    t.reschedule(std::nullopt);
                } catch (const std::runtime_error& e) {
                    error = e.what();
                }
                throw;
            }
        });
    } catch (const asyncio::timeout_error&) {
    }
    log->push_back("reschedule while expiring: " + error);
    co_await asyncio::timeout_at(loop.time() + 200ms,
                                 [&](asyncio::timeout_scope& t) -> asyncio::task<> {
                                     log->push_back("timeout_at: when " + when_ms(t));
                                     co_return;
                                 });
    co_await asyncio::timeout(std::nullopt, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
        log->push_back("timeout(None): when " + when_ms(t));
        co_return;
    });
}

asyncio::task<int> worker(log_t* log, std::chrono::milliseconds delay, int value,
                          bool swallow = false) {
    struct cleanup {
        log_t* log;
        int value;
        ~cleanup() {
            log->push_back("worker " + std::to_string(value) + " cleanup at " + now_ms());
        }
    } at_exit{log, value};
    try {
        co_await asyncio::sleep(delay);
        co_return value;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("worker " + std::to_string(value) + " cancelled at " + now_ms());
        if (!swallow) {
            throw;
        }
    }
    co_return -value;
}

asyncio::task<int> starts(bool* started) {
    *started = true;
    co_return 4;
}

asyncio::task<> wait_for_caller(log_t* log) {
    (void)co_await asyncio::wait_for(worker(log, 1s, 5), 10s);
}

asyncio::task<> wait_for_cases(log_t* log) {
    const int r = co_await asyncio::wait_for(worker(log, 50ms, 1), 100ms);
    log->push_back("wait_for result " + std::to_string(r) + " at " + now_ms());
    try {
        (void)co_await asyncio::wait_for(worker(log, 1s, 2), 100ms);
    } catch (const asyncio::timeout_error&) {
        log->push_back("wait_for TimeoutError at " + now_ms());
    }
    const int s = co_await asyncio::wait_for(worker(log, 1s, 3, true), 100ms);
    log->push_back("wait_for swallowed " + std::to_string(s));
    bool started = false;
    try {
        (void)co_await asyncio::wait_for(starts(&started), 0s);
    } catch (const asyncio::timeout_error&) {
        log->push_back("wait_for 0: TimeoutError, started " + py_bool(started));
    }
    auto t = asyncio::create_task(starts(&started));
    co_await asyncio::sleep(0s);
    log->push_back("wait_for 0 on a done task " +
                   std::to_string(co_await asyncio::wait_for(t, 0s)));
    auto c = asyncio::create_task(wait_for_caller(log));
    co_await asyncio::sleep(100ms);
    c.cancel();
    try {
        co_await c;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("wait_for caller cancelled at " + now_ms());
    }
}

// ---- ported from CPython 3.13's Lib/test/test_asyncio/test_timeouts.py (same names)

/// Python's `try: await asyncio.sleep(d) finally: 1/0` (ZeroDivisionError is std::domain_error):
/// the sleep is always interrupted here.
asyncio::task<> crash_after(std::chrono::milliseconds d) {
    try {
        co_await asyncio::sleep(d);
    } catch (const asyncio::cancelled_error&) {
        throw std::domain_error("division by zero");
    }
}

asyncio::task<> foreign_exception_on_timeout(log_t* log) {
    try {
        co_await asyncio::timeout(10ms, []() -> asyncio::task<> { co_await crash_after(1s); });
    } catch (const std::domain_error& e) {
        log->push_back("ZeroDivisionError '" + std::string(e.what()) + "' at " + now_ms());
    }
}

asyncio::task<> timeout_after_cancellation(log_t* log) {
    try {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(1s);
    } catch (const asyncio::cancelled_error&) {
        log->push_back("cancelled, cancelling " + std::to_string(cancelling_now()));
    }
    try {
        co_await asyncio::timeout(0s, []() -> asyncio::task<> { co_await asyncio::sleep(1s); });
    } catch (const asyncio::timeout_error&) {
        log->push_back("cleanup: TimeoutError at " + now_ms() + " cancelling " +
                       std::to_string(cancelling_now()));
    }
}

asyncio::task<> cancel_in_timeout_after_cancellation(log_t* log) {
    try {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(1s);
    } catch (const asyncio::cancelled_error&) {
    }
    bool expired = true;
    try {
        co_await asyncio::timeout(1s, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
            const note_expiry note{t, expired};
            asyncio::current_task().cancel();
            co_await asyncio::sleep(2s);
        });
    } catch (const asyncio::cancelled_error&) {
        log->push_back("cleanup: CancelledError at " + now_ms() + " expired " + py_bool(expired) +
                       " cancelling " + std::to_string(cancelling_now()));
    }
}

asyncio::task<> foreign_cancel_doesnt_timeout_if_not_expired(log_t* log) {
    bool expired = true;
    try {
        co_await asyncio::timeout(10s, [&](asyncio::timeout_scope& t) -> asyncio::task<> {
            const note_expiry note{t, expired};
            asyncio::current_task().cancel();
            co_await asyncio::sleep(10s);
        });
    } catch (const asyncio::cancelled_error&) {
        log->push_back("CancelledError at " + now_ms() + " expired " + py_bool(expired));
    }
}

asyncio::task<> timeout_taskgroup(log_t* log) {
    try {
        co_await asyncio::timeout(10ms, []() -> asyncio::task<> {
            co_await asyncio::task_group::run([](asyncio::task_group& tg) -> asyncio::task<> {
                tg.create_task(crash_after(2s));
                // try: raise ValueError / finally: await asyncio.sleep(1): the sleep is
                // interrupted by the deadline, and its cancellation replaces the ValueError.
                const std::exception_ptr raised =
                    std::make_exception_ptr(std::invalid_argument(""));
                co_await asyncio::sleep(1s);
                std::rethrow_exception(raised);
            });
        });
    } catch (const asyncio::exception_group& eg) {
        std::string types;
        for (const auto& e : eg.exceptions()) {
            try {
                std::rethrow_exception(e);
            } catch (const std::domain_error&) {
                types += "'ZeroDivisionError'";
            } catch (...) {
                types += "'?'";
            }
        }
        log->push_back("ExceptionGroup [" + types + "] at " + now_ms() + " cancelling " +
                       std::to_string(cancelling_now()));
    }
}

} // namespace

TEST_CASE("timeout: a body that finishes before the deadline returns normally, not expired") {
    CHECK(run_case(fast_body) == log_t{"fast: expired False at 50"});
}

TEST_CASE("timeout: the deadline cancels the body and raises timeout_error, restoring "
          "cancelling()") {
    CHECK(run_case(slow_body) == log_t{"slow: TimeoutError '' expired True at 100 cancelling 0"});
}

TEST_CASE("timeout: a body that never awaits is never interrupted") {
    CHECK(run_case(no_await) == log_t{"no await: expired False"});
}

TEST_CASE("timeout: a deadline already passed fires at the first await") {
    CHECK(run_case(already_expired) == log_t{"already expired: TimeoutError at 0"});
}

TEST_CASE("timeout: nested, only the timeout whose deadline fired converts the cancellation") {
    CHECK(run_case(nested_outer_first) ==
          log_t{"nested: inner let CancelledError through, inner expired False",
                "nested: outer TimeoutError, outer expired True at 100"});
    CHECK(run_case(nested_inner_first) ==
          log_t{"nested: inner TimeoutError at 100", "nested: outer expired False at 200"});
}

TEST_CASE("timeout: a body that swallows the cancellation ends normally, expired") {
    CHECK(run_case(swallowed) == log_t{"swallowed: body saw CancelledError",
                                       "swallowed: no error, expired True cancelling 0"});
}

TEST_CASE("timeout: an external cancellation passes through as cancelled_error") {
    CHECK(run_case(external_cancel) ==
          log_t{"external: CancelledError passes through", "external: task cancelled True"});
}

TEST_CASE("timeout: reschedule moves or removes the deadline, with when() and timeout_at") {
    CHECK(run_case(reschedule) == log_t{"reschedule: when 300 still running at 200",
                                        "reschedule: none, at 1200",
                                        "reschedule while expiring: Cannot change state of "
                                        "expiring Timeout",
                                        "timeout_at: when 1500", "timeout(None): when None"});
}

TEST_CASE("wait_for: result, timeout after the work's cleanup, a swallowed cancellation's value, "
          "zero timeout never starts a coroutine, the caller's cancellation reaches the work") {
    CHECK(run_case(wait_for_cases) ==
          log_t{"worker 1 cleanup at 50", "wait_for result 1 at 50", "worker 2 cancelled at 150",
                "worker 2 cleanup at 150", "wait_for TimeoutError at 150",
                "worker 3 cancelled at 250", "worker 3 cleanup at 250", "wait_for swallowed -3",
                "wait_for 0: TimeoutError, started False", "wait_for 0 on a done task 4",
                "worker 5 cancelled at 350", "worker 5 cleanup at 350",
                "wait_for caller cancelled at 350"});
}

// py: the expected lists below are the output of the same-named cases of tests/py/timeouts.py
// (ported from CPython 3.13's test_timeouts.py) on CPython 3.13.0. CPython also checks the
// exceptions' __context__/__cause__ chains, which C++ exceptions do not have.

TEST_CASE("timeout: an exception raised while the body is being cancelled replaces the "
          "timeout_error (test_foreign_exception_on_timeout)") {
    CHECK(run_case(foreign_exception_on_timeout) ==
          log_t{"ZeroDivisionError 'division by zero' at 10"});
}

TEST_CASE("timeout: a timeout in the cleanup after a caught cancellation still raises "
          "timeout_error, cancelling() stays 1 (test_timeout_after_cancellation)") {
    CHECK(run_case(timeout_after_cancellation) ==
          log_t{"cancelled, cancelling 1", "cleanup: TimeoutError at 0 cancelling 1"});
}

TEST_CASE("timeout: a cancel inside a timeout after a caught cancellation passes through as "
          "cancelled_error (test_cancel_in_timeout_after_cancellation)") {
    CHECK(run_case(cancel_in_timeout_after_cancellation) ==
          log_t{"cleanup: CancelledError at 0 expired False cancelling 2"});
}

TEST_CASE("timeout: a foreign cancel before the deadline is not turned into timeout_error "
          "(test_foreign_cancel_doesnt_timeout_if_not_expired)") {
    CHECK(run_case(foreign_cancel_doesnt_timeout_if_not_expired) ==
          log_t{"CancelledError at 0 expired False"});
}

asyncio::task<std::string> half_second_work() {
    co_await asyncio::sleep(500ms);
    co_return "ok";
}

asyncio::task<> wait_for_deadline_counts_from_its_start(log_t* log) {
    auto w = asyncio::wait_for(half_second_work(), 1s); // lazy: nothing runs, no deadline yet
    co_await asyncio::sleep(5s);
    const std::string awaited_at = now_ms();
    const std::string r = co_await std::move(w);
    log->push_back("wait_for created at 0, awaited at " + awaited_at + " -> " + r + " at " +
                   now_ms());
}

TEST_CASE("wait_for: the deadline counts from when it starts, and it needs no running loop when "
          "called (async def wait_for)") {
    // py: wait_for created at 0, awaited at 5000 -> ok at 5500
    CHECK(run_case(wait_for_deadline_counts_from_its_start) ==
          log_t{"wait_for created at 0, awaited at 5000 -> ok at 5500"});
    // py: asyncio.run(asyncio.wait_for(work(), 1)) -> 'done'
    CHECK(asyncio::run(asyncio::wait_for(half_second_work(), 1s),
                       asyncio::run_options{.clock = asyncio::clock_kind::virtual_time}) == "ok");
}

TEST_CASE("timeout: around a task group whose child fails in its cleanup, the exception_group "
          "replaces the timeout_error (test_timeout_taskgroup)") {
    CHECK(run_case(timeout_taskgroup) ==
          log_t{"ExceptionGroup ['ZeroDivisionError'] at 10 cancelling 0"});
}
