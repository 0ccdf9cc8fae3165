// SPDX-License-Identifier: MIT
// Tests for the compact task layout of issue 14: results without an engaged flag, and the loop's
// single trampoline slot shared by the drivers of nested steps.

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::run_virtual;

namespace {

struct point {
    std::int32_t x;
    double y;
};

asyncio::task<point> make_point(std::int32_t x) {
    co_await asyncio::sleep(1ms);
    co_return point{x, x * 0.5};
}

asyncio::task<int> depth(int n) {
    if (n == 0) {
        co_return 0;
    }
    co_return 1 + co_await depth(n - 1);
}

// Awaits a chain (its driver runs the levels through the trampoline), then yields.
asyncio::task<int> chain_then_yield(int n) {
    const int d = co_await depth(n);
    co_await asyncio::sleep(0ms);
    co_return d + co_await depth(n);
}

} // namespace

TEST_CASE("a trivially copyable result is stored without an engaged flag", "[task][layout]") {
    using asyncio::detail::value_slot;
    STATIC_REQUIRE(sizeof(value_slot<std::int64_t>) == sizeof(std::int64_t));
    STATIC_REQUIRE(sizeof(value_slot<point>) == sizeof(point));
    // A type with a destructor keeps its flag: the slot must know whether to destroy it.
    STATIC_REQUIRE(sizeof(value_slot<std::string>) > sizeof(std::string));
}

TEST_CASE("a task state, context pointer included, fits a 144-byte arena block", "[task][layout]") {
    // issue 15: the context pointer (contextvars) took 8 bytes; they came back from the default
    // name's number (48 bits, packed beside the reference count and the status) and cancelling()
    // (out of line: most tasks are never cancelled). The arena puts a tag byte at n: n + 1 must
    // stay within 144.
    STATIC_REQUIRE(sizeof(asyncio::detail::task_state<std::int64_t>) == 136);
    STATIC_REQUIRE(sizeof(asyncio::detail::task_state<std::int64_t>) + 1 <= 144);
}

TEST_CASE("repacked task fields: cancelling() counts, uncancel() undoes, names keep counting",
          "[task][layout]") {
    const auto [counts, name] =
        run_virtual([]() -> asyncio::task<std::pair<std::string, std::string>> {
            auto t = asyncio::create_task(make_point(1));
            std::string c;
            for (int i = 0; i < 3; ++i) {
                t.cancel();
                c += std::to_string(t.cancelling());
            }
            c += std::to_string(t.uncancel());
            c += std::to_string(t.uncancel());
            c += std::to_string(t.uncancel());
            c += t.cancelled() ? "x" : "-";
            std::string n = t.get_name();
            co_await asyncio::sleep(5ms);
            c += t.done() ? "d" : "p";
            co_return std::pair<std::string, std::string>(c, n);
        }());
    CHECK(counts == "123210-d"); // the withdrawn request lets the task finish normally
    CHECK(name == "Task-2");
}

TEST_CASE("trivially copyable results reach handles, awaits and gather intact", "[task][layout]") {
    const auto [a, b, sum] = run_virtual([]() -> asyncio::task<std::array<double, 3>> {
        auto h = asyncio::create_task(make_point(7));
        std::vector<asyncio::task<point>> more;
        for (std::int32_t i = 0; i < 3; ++i) {
            more.push_back(make_point(i));
        }
        const point first = co_await h; // a copy
        const point again = h.result(); // still there
        const std::vector<point> all = co_await asyncio::gather(more);
        double s = 0;
        for (const point& p : all) {
            s += p.x + p.y;
        }
        co_return std::array<double, 3>{first.x + first.y, again.x + again.y, s};
    }());
    CHECK(a == 10.5);
    CHECK(b == 10.5);
    CHECK(sum == 4.5); // (0 + 0) + (1 + 0.5) + (2 + 1)
}

TEST_CASE("an eager task started inside another task's step leaves that step's driver intact",
          "[task][layout]") {
    // The eager child's first step runs inside create_task, within the parent's step, on the
    // loop's one trampoline slot: the parent's chain must go on where it was.
    const auto [outer, inner] = run_virtual([]() -> asyncio::task<std::array<int, 2>> {
        const int before = co_await depth(50);
        auto child = asyncio::create_task(chain_then_yield(30), asyncio::eager_start);
        const int after = co_await depth(40);
        const int c = co_await child;
        co_return std::array<int, 2>{before + after, c};
    }());
    CHECK(outer == 90);
    CHECK(inner == 60);
}
