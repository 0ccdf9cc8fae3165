// SPDX-License-Identifier: MIT
// Tests for eager tasks: loop.set_task_factory(asyncio::eager_task_factory) (3.12's
// eager_task_factory) and create_task(t, asyncio::eager_start) (3.14's eager_start=True). Twin of
// tests/py/eager_tasks.py (tests/py/eager_tasks.expected; CPython 3.12 and 3.13 agree).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

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
using asyncio::testing::what_of;

namespace {

asyncio::task<int> child(log_t* log, int n) {
    log->push_back("child " + std::to_string(n) + " start " + asyncio::current_task().get_name());
    co_await asyncio::sleep(0s);
    log->push_back("child " + std::to_string(n) + " end");
    co_return n;
}

asyncio::task<int> quick(log_t* log, int n) {
    log->push_back("quick " + std::to_string(n) + " " + asyncio::current_task().get_name());
    co_return n;
}

asyncio::task<int> failing() {
    throw std::invalid_argument("eager");
    co_return 0;
}

asyncio::task<> eager_main(log_t* log) {
    auto& loop = asyncio::get_running_loop();
    loop.set_task_factory(asyncio::eager_task_factory);
    auto t = asyncio::create_task(child(log, 1), "c1");
    log->push_back("created, done " + py_bool(t.done()) + " current " +
                   asyncio::current_task().get_name() + " name " + t.get_name());
    auto q = asyncio::create_task(quick(log, 2));
    log->push_back("quick created, done " + py_bool(q.done()) + " " + std::to_string(q.result()));
    auto [a, b, c] = co_await asyncio::gather(quick(log, 3), child(log, 4), quick(log, 5));
    log->push_back("[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) +
                   "]");
    (void)co_await t;
    auto f = asyncio::create_task(failing());
    log->push_back("failing: done " + py_bool(f.done()) + " ValueError('" + what_of(f.exception()) +
                   "')");
    loop.set_task_factory(nullptr);
    q = asyncio::create_task(quick(log, 6));
    log->push_back("default factory: done " + py_bool(q.done()));
    (void)co_await q;
}

asyncio::task<> eager_start_main(log_t* log) {
    auto t = asyncio::create_task(quick(log, 1), asyncio::eager_start);
    log->push_back("eager_start: done " + py_bool(t.done()));
    auto u = asyncio::create_task(quick(log, 2));
    log->push_back("default: done " + py_bool(u.done()));
    (void)co_await u;
    auto v = asyncio::create_task(child(log, 3), "named", asyncio::eager_start);
    log->push_back("named after its first step: " + v.get_name());
    (void)co_await v;
}

} // namespace

// py: tests/py/eager_tasks.py
TEST_CASE("eager tasks: with eager_task_factory a task runs until it first suspends inside "
          "create_task, as the current task, and gather's children start eagerly too") {
    log_t log;
    run_virtual(eager_main(&log));
    CHECK(log == log_t{"child 1 start Task-2", "created, done False current Task-1 name c1",
                       "quick 2 Task-3", "quick created, done True 2", "quick 3 Task-4",
                       "child 4 start Task-5", "quick 5 Task-6", "child 1 end", "child 4 end",
                       "[3, 4, 5]", "failing: done True ValueError('eager')",
                       "default factory: done False", "quick 6 Task-8"});
}

TEST_CASE("eager tasks: create_task with eager_start starts one task eagerly") {
    log_t log;
    run_virtual(eager_start_main(&log));
    CHECK(log == log_t{"quick 1 Task-2", "eager_start: done True", "default: done False",
                       "quick 2 Task-3", "child 3 start Task-4",
                       "named after its first step: named", "child 3 end"});
}

TEST_CASE("eager tasks: a task created before the loop runs starts in the first iteration") {
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    loop.set_task_factory(asyncio::eager_task_factory);
    log_t log;
    auto t = loop.create_task(quick(&log, 1));
    CHECK_FALSE(t.done());
    CHECK(log.empty());
    CHECK(loop.run_until_complete(t) == 1);
}
