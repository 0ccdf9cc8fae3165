// SPDX-License-Identifier: MIT
// Tests for task_group.hpp and exception_group against CPython 3.13's TaskGroup
// (asyncio-semantics.md section 6). Each test case is a twin of one case of
// tests/py/task_group.py, run on a virtual clock starting at 0 (tests/py/task_group.expected).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <exception>
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

std::string describe(const asyncio::exception_group& eg) {
    std::string out;
    for (const auto& e : eg.exceptions()) {
        if (!out.empty()) {
            out += ", ";
        }
        try {
            std::rethrow_exception(e);
        } catch (const asyncio::exception_group& g) {
            out += "group[" + describe(g) + "]";
        } catch (const asyncio::timeout_error& t) {
            out += "TimeoutError(" + std::string(t.what()) + ")";
        } catch (const std::invalid_argument& v) {
            out += "ValueError(" + std::string(v.what()) + ")";
        } catch (const std::runtime_error& r) {
            out += "RuntimeError(" + std::string(r.what()) + ")";
        } catch (...) {
            out += "?";
        }
    }
    return out;
}

// Python's child(): ValueError is std::invalid_argument.
asyncio::task<std::string> child(log_t* log, std::string name, std::chrono::milliseconds delay,
                                 std::string fail = {}) {
    try {
        co_await asyncio::sleep(delay);
    } catch (const asyncio::cancelled_error&) {
        log->push_back(name + " cancelled at " + now_ms());
        throw;
    }
    if (!fail.empty()) {
        log->push_back(name + " fails at " + now_ms());
        throw std::invalid_argument(fail);
    }
    log->push_back(name + " done at " + now_ms());
    co_return name;
}

asyncio::task<> all_succeed(log_t* log) {
    asyncio::task_handle<std::string> a;
    asyncio::task_handle<std::string> b;
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
        a = tg.create_task(child(log, "a", 100ms));
        b = tg.create_task(child(log, "b", 200ms));
        log->push_back("body done at " + now_ms());
        co_return;
    });
    log->push_back("group done at " + now_ms() + " " + a.result() + " " + b.result());
}

asyncio::task<> one_fails(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 100ms, "boom"));
            tg.create_task(child(log, "b", 1s));
            try {
                co_await asyncio::sleep(1s);
            } catch (const asyncio::cancelled_error&) {
                log->push_back("body cancelled at " + now_ms());
                throw;
            }
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("group: " + std::string(eg.what()) + " | " + describe(eg) + " at " +
                       now_ms());
    }
    log->push_back("cancelling " + std::to_string(asyncio::current_task().cancelling()));
}

asyncio::task<> two_fail(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 100ms, "x"));
            tg.create_task(child(log, "b", 100ms, "y"));
            tg.create_task(child(log, "c", 1s));
            co_return;
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("group: " + std::string(eg.what()) + " | " + describe(eg));
    }
}

asyncio::task<> body_fails(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 1s));
            co_await asyncio::sleep(100ms);
            throw std::invalid_argument("body");
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("group: " + describe(eg) + " at " + now_ms());
    }
}

asyncio::task<> external_runner(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 1s));
            tg.create_task(child(log, "b", 1s));
            co_await asyncio::sleep(1s);
        });
    } catch (const asyncio::cancelled_error&) {
        log->push_back("runner: CancelledError at " + now_ms());
        throw;
    }
}

asyncio::task<> external_cancel(log_t* log) {
    auto t = asyncio::create_task(external_runner(log));
    co_await asyncio::sleep(100ms);
    t.cancel();
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        log->push_back(std::string("runner cancelled ") + (t.cancelled() ? "True" : "False"));
    }
}

asyncio::task<> child_cancelled_is_not_error(log_t* log) {
    asyncio::task_handle<std::string> a;
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
        a = tg.create_task(child(log, "a", 1s));
        tg.create_task(child(log, "b", 200ms));
        co_await asyncio::sleep(100ms);
        a.cancel();
    });
    log->push_back("group done at " + now_ms() + " a cancelled " +
                   (a.cancelled() ? "True" : "False"));
}

asyncio::task<> create_after(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 100ms, "f"));
            std::string rejected;
            try {
                co_await asyncio::sleep(1s);
            } catch (const asyncio::cancelled_error&) {
                try {
                    tg.create_task(child(log, "late", 0ms));
                } catch (const std::runtime_error& e) {
                    rejected = e.what();
                }
            }
            log->push_back("create_task while aborting: " + rejected);
            throw asyncio::cancelled_error("");
        });
    } catch (const asyncio::exception_group&) {
    }
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
        auto a = tg.create_task(child(log, "b", 100ms));
        a.add_done_callback([&tg, log] {
            try {
                tg.create_task(child(log, "later", 0ms));
            } catch (const std::runtime_error& e) {
                log->push_back("create_task once the group is done: " + std::string(e.what()));
            }
        });
        co_return;
    });
}

asyncio::task<> inner_group(log_t* log) {
    co_await asyncio::task_group::run([&](asyncio::task_group& inner) -> asyncio::task<> {
        inner.create_task(child(log, "i", 100ms, "deep"));
        co_return;
    });
}

asyncio::task<> nested(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& outer) -> asyncio::task<> {
            outer.create_task(child(log, "o", 1s));
            outer.create_task(inner_group(log));
            co_return;
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("group: " + describe(eg) + " at " + now_ms());
        auto [match, rest] = eg.split<std::invalid_argument>();
        log->push_back("split: " + (match ? describe(*match) : std::string("None")) + " | rest " +
                       (rest ? describe(*rest) : std::string("None")));
    }
}

asyncio::task<> with_timeout() {
    co_await asyncio::timeout(100ms, []() -> asyncio::task<> { co_await asyncio::sleep(1s); });
}

asyncio::task<> in_timeout(log_t* log) {
    try {
        co_await asyncio::timeout(100ms, [&]() -> asyncio::task<> {
            co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
                tg.create_task(child(log, "a", 1s));
                tg.create_task(child(log, "b", 1s));
                co_return;
            });
        });
    } catch (const asyncio::timeout_error&) {
        log->push_back("timeout around the group at " + now_ms() + " cancelling " +
                       std::to_string(asyncio::current_task().cancelling()));
    }
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(with_timeout());
            tg.create_task(child(log, "c", 1s));
            co_return;
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("timeout in a child: " + describe(eg) + " at " + now_ms());
    }
}

asyncio::task<> slow_cleanup(log_t* log, std::string name) {
    std::exception_ptr cancelled;
    try {
        co_await asyncio::sleep(1s);
    } catch (const asyncio::cancelled_error&) {
        cancelled = std::current_exception();
    }
    if (cancelled) {
        log->push_back(name + " cleaning up at " + now_ms());
        co_await asyncio::sleep(200ms);
        log->push_back(name + " cleaned up at " + now_ms());
        std::rethrow_exception(cancelled);
    }
}

asyncio::task<> shutdown_runner(log_t* log) {
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(child(log, "a", 100ms, "x"));
            tg.create_task(slow_cleanup(log, "b"));
            co_return;
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("runner: group " + describe(eg) + " at " + now_ms() + " cancelling " +
                       std::to_string(asyncio::current_task().cancelling()));
    }
    try {
        co_await asyncio::sleep(1s);
        log->push_back("runner: not cancelled");
    } catch (const asyncio::cancelled_error&) {
        log->push_back("runner: the external cancellation arrives at the next await, at " +
                       now_ms());
        throw;
    }
}

asyncio::task<> external_cancel_during_shutdown(log_t* log) {
    auto t = asyncio::create_task(shutdown_runner(log));
    co_await asyncio::sleep(150ms);
    t.cancel();
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        log->push_back(std::string("runner cancelled ") + (t.cancelled() ? "True" : "False"));
    }
}

// ---- ported from CPython 3.13's Lib/test/test_asyncio/test_taskgroups.py (same names)

/// raise_after(t, e): RuntimeError is std::runtime_error, ValueError std::invalid_argument,
/// ZeroDivisionError std::domain_error.
template <class E> asyncio::task<> raise_after(std::chrono::milliseconds t) {
    co_await asyncio::sleep(t);
    throw E("");
}

std::string cancelling_now() {
    return std::to_string(asyncio::current_task().cancelling());
}

asyncio::task<> cancelling_level_preserved(log_t* log) {
    try {
        co_await asyncio::task_group::run([](asyncio::task_group& tg) -> asyncio::task<> {
            tg.create_task(raise_after<std::runtime_error>(0ms));
            co_return;
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("caught " + describe(eg));
    }
    log->push_back("cancelling " + cancelling_now());
}

asyncio::task<> nested_groups_both_cancelled(log_t* log) {
    try {
        co_await asyncio::task_group::run([log](asyncio::task_group& outer_tg) -> asyncio::task<> {
            try {
                co_await asyncio::task_group::run(
                    [&outer_tg](asyncio::task_group& inner_tg) -> asyncio::task<> {
                        inner_tg.create_task(raise_after<std::runtime_error>(0ms));
                        outer_tg.create_task(raise_after<std::invalid_argument>(0ms));
                        co_return;
                    });
            } catch (const asyncio::exception_group& eg) {
                log->push_back("inner caught " + describe(eg));
            }
            log->push_back("cancelling after inner " + cancelling_now());
        });
    } catch (const asyncio::exception_group& eg) {
        log->push_back("outer caught " + describe(eg));
    }
    log->push_back("cancelling " + cancelling_now());
}

asyncio::task<> error_and_cancel(log_t* log) {
    asyncio::event event;
    auto raise_error = [](asyncio::event* e) -> asyncio::task<> {
        e->set();
        co_await asyncio::sleep(0s);
        throw std::runtime_error("");
    };
    auto inner = [](log_t* out, asyncio::event* e,
                    asyncio::task<> (*raiser)(asyncio::event*)) -> asyncio::task<> {
        try {
            co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
                tg.create_task(raiser(e));
                co_await asyncio::sleep(1s);
                out->push_back("not reached: sleep in group");
            });
        } catch (const asyncio::exception_group&) {
            out->push_back("inner caught RuntimeError, cancelling " + cancelling_now());
        }
        co_await asyncio::sleep(1s);
        out->push_back("not reached: sleep after group");
    };
    auto t = asyncio::create_task(inner(log, &event, +raise_error));
    co_await event.wait();
    log->push_back("t cancelling " + std::to_string(t.cancelling()));
    t.cancel();
    log->push_back("t cancelling " + std::to_string(t.cancelling()));
    try {
        co_await t;
    } catch (const asyncio::cancelled_error&) {
        log->push_back("t cancelled " + py_bool(t.cancelled()));
    }
}

asyncio::task<> divide_by_zero_soon() {
    co_await asyncio::sleep(1ms);
    throw std::domain_error("division by zero");
}

asyncio::task<> no_create_task_after_failure(log_t* log) {
    auto coro2 = [](log_t* out, asyncio::task_group* g) -> asyncio::task<> {
        try {
            co_await asyncio::sleep(1s);
        } catch (const asyncio::cancelled_error&) {
            try {
                g->create_task(divide_by_zero_soon());
            } catch (const std::runtime_error& e) {
                out->push_back("RuntimeError " + std::string(e.what()));
            }
        }
    };
    try {
        co_await asyncio::task_group::run([&](asyncio::task_group& g) -> asyncio::task<> {
            g.create_task(divide_by_zero_soon());
            g.create_task(coro2(log, &g));
            co_return;
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
        log->push_back("caught [" + types + "]");
    }
}

} // namespace

TEST_CASE("task_group: waits for every child after the body, and results are readable after") {
    CHECK(run_case(all_succeed) ==
          log_t{"body done at 0", "a done at 100", "b done at 200", "group done at 200 a b"});
}

TEST_CASE("task_group: the first failure cancels the other children and the body, then raises an "
          "exception_group, and the parent's cancelling() returns to 0") {
    CHECK(run_case(one_fails) ==
          log_t{"a fails at 100", "b cancelled at 100", "body cancelled at 100",
                "group: unhandled errors in a TaskGroup (1 sub-exception) | ValueError(boom) at "
                "100",
                "cancelling 0"});
}

TEST_CASE("task_group: two simultaneous failures both appear in the group") {
    CHECK(run_case(two_fail) ==
          log_t{"a fails at 100", "b fails at 100", "c cancelled at 100",
                "group: unhandled errors in a TaskGroup (2 sub-exceptions) | ValueError(x), "
                "ValueError(y)"});
}

TEST_CASE("task_group: the body's exception cancels the children and joins the group") {
    CHECK(run_case(body_fails) == log_t{"a cancelled at 100", "group: ValueError(body) at 100"});
}

TEST_CASE("task_group: an external cancellation cancels every child and propagates as "
          "cancelled_error") {
    CHECK(run_case(external_cancel) == log_t{"a cancelled at 100", "b cancelled at 100",
                                             "runner: CancelledError at 100",
                                             "runner cancelled True"});
}

TEST_CASE("task_group: a child that was merely cancelled is not an error") {
    CHECK(run_case(child_cancelled_is_not_error) ==
          log_t{"a cancelled at 100", "b done at 200", "group done at 200 a cancelled True"});
}

TEST_CASE("task_group: create_task raises runtime_error while shutting down and once finished") {
    CHECK(run_case(create_after) ==
          log_t{"a fails at 100",
                "create_task while aborting: TaskGroup <TaskGroup errors=1 cancelling> is "
                "shutting down",
                "b done at 200",
                "create_task once the group is done: TaskGroup <TaskGroup entered> is finished"});
}

TEST_CASE("task_group: nested groups nest their exception_groups, and split divides by type") {
    CHECK(run_case(nested) == log_t{"i fails at 100", "o cancelled at 100",
                                    "group: group[ValueError(deep)] at 100",
                                    "split: group[ValueError(deep)] | rest None"});
}

TEST_CASE("task_group: composes with timeout, around the group and inside a child") {
    CHECK(run_case(in_timeout) == log_t{"a cancelled at 100", "b cancelled at 100",
                                        "timeout around the group at 100 cancelling 0",
                                        "c cancelled at 200",
                                        "timeout in a child: TimeoutError() at 200"});
}

TEST_CASE("exception_group: what() counts sub-exceptions and split keeps the nesting") {
    const asyncio::exception_group inner("inner",
                                         {std::make_exception_ptr(std::invalid_argument("v")),
                                          std::make_exception_ptr(asyncio::timeout_error(""))});
    const asyncio::exception_group eg(
        "outer",
        {std::make_exception_ptr(inner), std::make_exception_ptr(std::invalid_argument("w"))});
    CHECK(std::string(eg.what()) == "outer (2 sub-exceptions)");
    CHECK(eg.message() == "outer");
    auto [match, rest] = eg.split<asyncio::timeout_error>();
    REQUIRE(match);
    REQUIRE(rest);
    CHECK(describe(*match) == "group[TimeoutError()]");
    CHECK(describe(*rest) == "group[ValueError(v)], ValueError(w)");
    CHECK(eg.contains<std::invalid_argument>());
    CHECK_FALSE(eg.contains<std::out_of_range>());
    CHECK_FALSE(eg.subgroup<std::out_of_range>());
}

TEST_CASE("task_group: an external cancellation during the group's shutdown waits for the "
          "children, raises the group, and is delivered at the parent's next await") {
    CHECK(run_case(external_cancel_during_shutdown) ==
          log_t{"a fails at 100", "b cleaning up at 100", "b cleaned up at 300",
                "runner: group ValueError(x) at 300 cancelling 1",
                "runner: the external cancellation arrives at the next await, at 300",
                "runner cancelled True"});
}

// py: the expected lists below are the output of the same-named cases of
// tests/py/task_group_ports.py (ported from CPython 3.13's test_taskgroups.py) on CPython 3.13.0.

TEST_CASE("task_group: a failed group leaves the parent's cancelling() at 0 "
          "(test_cancelling_level_preserved)") {
    CHECK(run_case(cancelling_level_preserved) == log_t{"caught RuntimeError()", "cancelling 0"});
}

TEST_CASE("task_group: nested groups that both fail raise each its own group, and cancelling() "
          "is 1 between them, 0 after (test_nested_groups_both_cancelled)") {
    CHECK(run_case(nested_groups_both_cancelled) ==
          log_t{"inner caught RuntimeError()", "cancelling after inner 1",
                "outer caught ValueError()", "cancelling 0"});
}

TEST_CASE("task_group: an external cancel while the group fails is kept: cancelling() stays 1 "
          "and the next await is cancelled (test_error_and_cancel)") {
    CHECK(run_case(error_and_cancel) == log_t{"t cancelling 0", "t cancelling 1",
                                              "inner caught RuntimeError, cancelling 1",
                                              "t cancelled True"});
}

TEST_CASE("task_group: a child cancelled by a failure cannot create tasks, the group holds only "
          "the failure (test_taskgroup_no_create_task_after_failure)") {
    CHECK(run_case(no_create_task_after_failure) ==
          log_t{"RuntimeError TaskGroup <TaskGroup tasks=1 errors=1 cancelling> is shutting down",
                "caught ['ZeroDivisionError']"});
}
