// SPDX-License-Identifier: MIT
// Tests for event_loop (loop.hpp): ready-queue order, timers and handles, stop and run, clocks,
// get_running_loop and the exception handler.
#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

// Python observations quoted below are printed by tests/py/loop_order.py (CPython 3.13.0); the
// CTest case asyncio.py.loop_order checks that it still prints them (tests/py/loop_order.expected).

namespace {

using namespace std::chrono_literals;
using asyncio::clock_kind;
using asyncio::event_loop;
using asyncio::exception_context;
using asyncio::loop_clock;

/// Runs exactly one iteration: stop() before run_forever() (asyncio-semantics 7.3).
void run_one_iteration(event_loop& loop) {
    loop.stop();
    loop.run_forever();
}

loop_clock::time_point at(loop_clock::duration d) {
    return loop_clock::time_point(d);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

using asyncio::testing::what_of;

template <class F> std::string runtime_error_message(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<no std::runtime_error>";
}

/// Everything written to stderr (the file descriptor and std::cerr/std::clog, which a Catch2
/// reporter may have redirected) while `f` runs.
template <class F> std::string capture_stderr(F&& f) {
    std::ostringstream streamed;
    auto* old_cerr = std::cerr.rdbuf(streamed.rdbuf());
    auto* old_clog = std::clog.rdbuf(streamed.rdbuf());
    std::string written;
#if __has_include(<unistd.h>)
    std::fflush(stderr);
    std::FILE* file = std::tmpfile();
    const int saved = (file != nullptr) ? ::dup(2) : -1;
    if (saved >= 0) {
        ::dup2(::fileno(file), 2);
    }
#endif
    std::forward<F>(f)();
    std::cerr.flush();
    std::clog.flush();
#if __has_include(<unistd.h>)
    std::fflush(stderr);
    if (saved >= 0) {
        ::dup2(saved, 2);
        ::close(saved);
    }
    if (file != nullptr) {
        std::rewind(file);
        char buffer[512];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
            written.append(buffer, n);
        }
        std::fclose(file);
    }
#endif
    std::cerr.rdbuf(old_cerr);
    std::clog.rdbuf(old_clog);
    return written + streamed.str();
}

/// A copyable callable that counts its live instances, to see whether the loop keeps the
/// callbacks of cancelled timers alive.
struct counted_callback {
    static inline long alive = 0;
    int* fired;

    explicit counted_callback(int* f) noexcept : fired(f) { ++alive; }
    counted_callback(const counted_callback& o) noexcept : fired(o.fired) { ++alive; }
    counted_callback(counted_callback&& o) noexcept : fired(o.fired) { ++alive; }
    counted_callback& operator=(const counted_callback&) = default;
    counted_callback& operator=(counted_callback&&) = default;
    ~counted_callback() { --alive; }

    void operator()() const { ++*fired; }
};

} // namespace

TEST_CASE("event_loop: call_soon runs callbacks in FIFO order", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) {
        loop.call_soon([&order, i] { order.push_back(i); });
    }
    CHECK(loop.ready_size() == 5U);
    CHECK(order.empty());
    run_one_iteration(loop);
    const std::vector<int> expected{0, 1, 2, 3, 4};
    CHECK(order == expected);
    CHECK(loop.ready_size() == 0U);
}

TEST_CASE("event_loop: an iteration runs only the callbacks that were ready when it began",
          "[loop]") {
    // CPython 3.13, whole run: ['X', 'B', 'C', 'D'] (D was scheduled by X during the iteration).
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    loop.call_soon([&log, &loop] {
        log.emplace_back("X");
        loop.call_soon([&log] { log.emplace_back("D"); });
    });
    loop.call_soon([&log] { log.emplace_back("B"); });
    loop.call_soon([&log] { log.emplace_back("C"); });

    run_one_iteration(loop);
    const std::vector<std::string> first{"X", "B", "C"};
    CHECK(log == first);
    CHECK(loop.ready_size() == 1U);

    run_one_iteration(loop);
    const std::vector<std::string> second{"X", "B", "C", "D"};
    CHECK(log == second);
    CHECK(loop.ready_size() == 0U);
}

TEST_CASE("event_loop: call_later timers fire in deadline order", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    std::vector<loop_clock::time_point> times;
    auto record = [&log, &times, &loop](std::string name) {
        return [&log, &times, &loop, name] {
            log.push_back(name);
            times.push_back(loop.time());
        };
    };
    loop.call_later(30ms, record("A"));
    loop.call_later(10ms, record("B"));
    loop.call_later(20ms, record("C"));
    loop.call_later(40ms, [&loop] { loop.stop(); });
    CHECK(loop.pending_timers() == 4U);

    loop.run_forever();

    const std::vector<std::string> expected{"B", "C", "A"};
    CHECK(log == expected);
    const std::vector<loop_clock::time_point> expected_times{at(10ms), at(20ms), at(30ms)};
    CHECK(times == expected_times);
    CHECK(loop.pending_timers() == 0U);
}

TEST_CASE("event_loop: call_at timers fire in deadline order at exactly their deadline", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    std::vector<loop_clock::time_point> times;
    auto record = [&log, &times, &loop](std::string name) {
        return [&log, &times, &loop, name] {
            log.push_back(name);
            times.push_back(loop.time());
        };
    };
    const auto late = loop.call_at(at(3s), record("late"));
    const auto early = loop.call_at(at(1s), record("early"));
    const auto middle = loop.call_at(at(2s), record("middle"));
    loop.call_at(at(4s), [&loop] { loop.stop(); });
    CHECK(late.when() == at(3s));
    CHECK(early.when() == at(1s));
    CHECK(middle.when() == at(2s));

    loop.run_forever();

    const std::vector<std::string> expected{"early", "middle", "late"};
    CHECK(log == expected);
    const std::vector<loop_clock::time_point> expected_times{at(1s), at(2s), at(3s)};
    CHECK(times == expected_times);
    CHECK(loop.time() == at(4s));
}

TEST_CASE("event_loop: timers with equal deadlines fire in registration order", "[loop]") {
    // Deliberate deviation: CPython 3.13 ran ten call_at(same_when) callbacks in the order
    // [0, 2, 6, 5, 9, 8, 7, 1, 3, 4] (heapq is not stable). call_later with equal delays ran
    // [0..9] there only because the real clock moves between the calls.
    event_loop loop{clock_kind::virtual_time};
    std::vector<int> order;
    const std::vector<int> expected{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    SECTION("call_at with the same time point") {
        for (int i = 0; i < 10; ++i) {
            loop.call_at(at(5ms), [&order, i] { order.push_back(i); });
        }
    }
    SECTION("call_later with the same delay on the virtual clock") {
        for (int i = 0; i < 10; ++i) {
            loop.call_later(5ms, [&order, i] { order.push_back(i); });
        }
    }
    loop.call_later(6ms, [&loop] { loop.stop(); });
    loop.run_forever();
    CHECK(order == expected);
}

TEST_CASE("event_loop: call_later with zero or negative delays runs after call_soon in deadline "
          "order",
          "[loop]") {
    // CPython 3.13: call_later(0, A); call_later(-1, B); call_soon(C) ran ['C', 'B', 'A'].
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    loop.call_later(0s, [&log] { log.emplace_back("A"); });
    loop.call_later(-1s, [&log] { log.emplace_back("B"); });
    loop.call_soon([&log] { log.emplace_back("C"); });
    loop.call_later(1ms, [&loop] { loop.stop(); });
    loop.run_forever();
    const std::vector<std::string> expected{"C", "B", "A"};
    CHECK(log == expected);
}

TEST_CASE("event_loop: expired timers join the end of the ready queue", "[loop]") {
    // CPython 3.13: call_soon(A -> call_soon(A2)); call_later(0, T); call_soon(B) ran
    // ['A', 'B', 'T', 'A2']: T was collected behind A and B, and A2 waited for the next
    // iteration.
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    loop.call_soon([&log, &loop] {
        log.emplace_back("A");
        loop.call_soon([&log] { log.emplace_back("A2"); });
    });
    loop.call_later(0s, [&log] { log.emplace_back("T"); });
    loop.call_soon([&log] { log.emplace_back("B"); });

    run_one_iteration(loop);
    const std::vector<std::string> first{"A", "B", "T"};
    CHECK(log == first);
    CHECK(loop.pending_timers() == 0U);

    run_one_iteration(loop);
    const std::vector<std::string> second{"A", "B", "T", "A2"};
    CHECK(log == second);
}

TEST_CASE("event_loop: a cancelled handle's callback never runs", "[loop]") {
    // CPython 3.13: h = call_soon(A); call_soon(B); h.cancel() ran ['B'], h.cancelled() True.
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    asyncio::handle h = loop.call_soon([&log] { log.emplace_back("A"); });
    loop.call_soon([&log] { log.emplace_back("B"); });
    const asyncio::handle other = loop.call_soon([&log] { log.emplace_back("C"); });
    CHECK(static_cast<bool>(h));
    CHECK(!h.cancelled());

    SECTION("cancelled through the handle") {
        h.cancel();
    }
    SECTION("cancelled through a copy of the handle") {
        asyncio::handle copy = h;
        copy.cancel();
    }
    CHECK(h.cancelled());
    CHECK(!other.cancelled());
    run_one_iteration(loop);
    const std::vector<std::string> expected{"B", "C"};
    CHECK(log == expected);
}

TEST_CASE("event_loop: a default-constructed handle is empty", "[loop]") {
    const asyncio::handle h{};
    const asyncio::timer_handle t{};
    CHECK(!h);
    CHECK(!t);
}

TEST_CASE("event_loop: cancelling a timer removes it from the heap at once", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    bool fired = false;
    asyncio::timer_handle t = loop.call_later(1h, [&fired] { fired = true; });
    loop.call_later(2s, [&loop] { loop.stop(); });
    CHECK(loop.pending_timers() == 2U);
    CHECK(t.when() == at(1h));

    t.cancel();

    CHECK(t.cancelled());
    CHECK(loop.pending_timers() == 1U);
    loop.run_forever();
    CHECK(!fired);
    CHECK(loop.time() == at(2s));
    CHECK(loop.pending_timers() == 0U);
}

TEST_CASE("event_loop: a timer cancelled after it was collected does not run", "[loop]") {
    // Both timers are due at 1 s and are moved to the ready queue together; the first one
    // cancels the second before it runs (CPython skips cancelled handles when it pops them).
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    asyncio::timer_handle second;
    loop.call_at(at(1s), [&log, &second, &loop] {
        log.emplace_back("first");
        log.push_back(loop.pending_timers() == 1U ? "stop timer pending" : "unexpected heap");
        second.cancel();
    });
    second = loop.call_at(at(1s), [&log] { log.emplace_back("second"); });
    loop.call_at(at(2s), [&loop] { loop.stop(); });
    loop.run_forever();
    const std::vector<std::string> expected{"first", "stop timer pending"};
    CHECK(log == expected);
}

TEST_CASE("event_loop: cancelling a million of a million and one timers leaves one timer and "
          "frees the callbacks",
          "[loop]") {
    // No assertion on time: the point is that cancelled timers leave the heap at once (CPython
    // purges them lazily) and that their callbacks are released.
    constexpr std::size_t count = 1'000'000;
    event_loop loop{clock_kind::virtual_time};
    counted_callback::alive = 0;
    int fired = 0;
    int survivor_fired = 0;
    {
        std::vector<asyncio::timer_handle> handles;
        handles.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            if (i == count / 2) {
                loop.call_later(50s, [&survivor_fired, &loop] {
                    ++survivor_fired;
                    loop.stop();
                });
            }
            const auto delay =
                std::chrono::milliseconds(1 + static_cast<long>((i * 7919) % 100'000));
            handles.push_back(loop.call_later(delay, counted_callback{&fired}));
        }
        REQUIRE(loop.pending_timers() == count + 1);

        for (auto& h : handles) {
            h.cancel();
        }
        CHECK(loop.pending_timers() == 1U);
    }
    CHECK(counted_callback::alive == 0);

    loop.run_forever();
    CHECK(fired == 0);
    CHECK(survivor_fired == 1);
    CHECK(loop.time() == at(50s));
    CHECK(loop.pending_timers() == 0U);
}

TEST_CASE("event_loop: call_soon, call_later and call_at accept move-only callables", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    std::vector<int> seen;
    auto a = std::make_unique<int>(1);
    auto b = std::make_unique<int>(2);
    auto c = std::make_unique<int>(3);
    loop.call_soon([p = std::move(a), &seen] { seen.push_back(*p); });
    loop.call_later(1s, [p = std::move(b), &seen] { seen.push_back(*p); });
    loop.call_at(at(2s), [p = std::move(c), &seen, &loop] {
        seen.push_back(*p);
        loop.stop();
    });
    loop.run_forever();
    const std::vector<int> expected{1, 2, 3};
    CHECK(seen == expected);
}

TEST_CASE("event_loop: a throwing callback is reported as Exception in callback and the loop "
          "continues",
          "[loop]") {
    // CPython 3.13: the handler got "Exception in callback ...bad() at ..." with
    // RuntimeError('boom'), then 'next' still ran.
    std::vector<exception_context> reports;
    std::vector<event_loop*> loops_seen;
    event_loop loop{clock_kind::virtual_time};
    loop.set_exception_handler([&reports, &loops_seen](event_loop& l, const exception_context& c) {
        reports.push_back(c);
        loops_seen.push_back(&l);
    });
    std::vector<std::string> log;
    loop.call_soon([] { throw std::runtime_error("boom"); });
    loop.call_soon([&log] { log.emplace_back("next"); });
    loop.call_later(1s, [] { throw std::logic_error("timer boom"); });
    loop.call_later(2s, [&log, &loop] {
        log.emplace_back("after the timer");
        loop.stop();
    });

    REQUIRE_NOTHROW(loop.run_forever());

    const std::vector<std::string> expected{"next", "after the timer"};
    CHECK(log == expected);
    REQUIRE(reports.size() == 2U);
    CHECK(contains(reports[0].message, "Exception in callback"));
    CHECK(what_of(reports[0].exception) == "boom");
    CHECK(reports[0].task_name.empty());
    CHECK(contains(reports[1].message, "Exception in callback"));
    CHECK(what_of(reports[1].exception) == "timer boom");
    CHECK(loops_seen[0] == &loop);
}

TEST_CASE("event_loop: stop inside a callback lets the rest of the iteration run", "[loop]") {
    // CPython 3.13: cb1 calls stop() and schedules cb3; the first run_forever ran ['cb1', 'cb2']
    // with one entry left in the ready queue; the next run ran cb3.
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    loop.call_soon([&log, &loop] {
        log.emplace_back("cb1");
        loop.stop();
        loop.call_soon([&log] { log.emplace_back("cb3"); });
    });
    loop.call_soon([&log] { log.emplace_back("cb2"); });

    loop.run_forever();
    const std::vector<std::string> first{"cb1", "cb2"};
    CHECK(log == first);
    CHECK(loop.ready_size() == 1U);
    CHECK(!loop.is_running());

    loop.call_soon([&loop] { loop.stop(); });
    loop.run_forever();
    const std::vector<std::string> second{"cb1", "cb2", "cb3"};
    CHECK(log == second);
}

TEST_CASE("event_loop: stop before run_forever runs exactly one iteration", "[loop]") {
    // CPython 3.13: stop(); run_forever() ran ['a1'] and left a2 queued; the next one ran a2.
    event_loop loop{clock_kind::virtual_time};
    std::vector<std::string> log;
    loop.call_soon([&log, &loop] {
        log.emplace_back("a1");
        loop.call_soon([&log] { log.emplace_back("a2"); });
    });

    loop.stop();
    loop.run_forever();
    const std::vector<std::string> first{"a1"};
    CHECK(log == first);
    CHECK(loop.ready_size() == 1U);

    loop.stop();
    loop.run_forever();
    const std::vector<std::string> second{"a1", "a2"};
    CHECK(log == second);
}

TEST_CASE("event_loop: run_until_complete returns the future's value", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    loop.call_later(5s, [f]() mutable { f.set_result(42); });
    CHECK(loop.run_until_complete(f) == 42);
    CHECK(loop.time() == at(5s));
    CHECK(!loop.is_running());
}

TEST_CASE("event_loop: run_until_complete called while the loop runs raises runtime_error",
          "[loop]") {
    // CPython 3.13: RuntimeError('This event loop is already running'); the outer run went on.
    event_loop loop{clock_kind::virtual_time};
    auto outer = loop.create_future<int>();
    auto inner = loop.create_future<int>();
    std::string message;
    loop.call_soon([&loop, &message, outer, inner]() mutable {
        message = runtime_error_message(
            [&loop, &inner] { static_cast<void>(loop.run_until_complete(inner)); });
        outer.set_result(2);
    });
    CHECK(loop.run_until_complete(outer) == 2);
    CHECK(message == "This event loop is already running");
}

TEST_CASE("event_loop: run_until_complete ended by stop raises runtime_error", "[loop]") {
    // CPython 3.13: RuntimeError('Event loop stopped before Future completed.').
    event_loop loop{clock_kind::virtual_time};
    auto f = loop.create_future<int>();
    loop.call_soon([&loop] { loop.stop(); });
    REQUIRE_THROWS_WITH(loop.run_until_complete(f), "Event loop stopped before Future completed.");
    CHECK(!f.done());
}

TEST_CASE("event_loop: a virtual-time loop with nothing left to do raises a deadlock error "
          "instead of hanging",
          "[loop]") {
    // Deliberate deviation: CPython blocks in select() forever (as a real-clock loop here does,
    // see io_loop_test.cpp).
    SECTION("run_forever on an empty virtual-time loop") {
        event_loop loop{clock_kind::virtual_time};
        CHECK(contains(runtime_error_message([&loop] { loop.run_forever(); }), "deadlock"));
        CHECK(!loop.is_running());
    }
    SECTION("run_forever after the last timer fired") {
        event_loop loop{clock_kind::virtual_time};
        bool fired = false;
        loop.call_later(1s, [&fired] { fired = true; });
        CHECK(contains(runtime_error_message([&loop] { loop.run_forever(); }), "deadlock"));
        CHECK(fired);
        CHECK(loop.time() == at(1s));
    }
    SECTION("run_until_complete of a future nobody completes") {
        event_loop loop{clock_kind::virtual_time};
        auto f = loop.create_future<int>();
        bool ran = false;
        loop.call_soon([&ran] { ran = true; });
        CHECK(contains(
            runtime_error_message([&loop, &f] { static_cast<void>(loop.run_until_complete(f)); }),
            "deadlock"));
        CHECK(ran);
        CHECK(!f.done());
    }
}

TEST_CASE("event_loop: the virtual clock starts at zero and jumps straight to the next deadline",
          "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    CHECK(loop.clock() == clock_kind::virtual_time);
    CHECK(loop.time().time_since_epoch() == 0ns);
    loop_clock::time_point seen_by_loop;
    loop_clock::time_point seen_by_clock;
    loop.call_later(1h, [&] {
        seen_by_loop = loop.time();
        seen_by_clock = loop_clock::now();
        loop.stop();
    });
    loop.run_forever();
    CHECK(seen_by_loop == at(1h));
    CHECK(seen_by_clock == at(1h));
    CHECK(loop.time() == at(1h));
}

TEST_CASE("event_loop: the virtual clock does not move while callbacks are ready", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    std::vector<loop_clock::time_point> times;
    loop.call_later(1s, [&times, &loop] {
        times.push_back(loop.time());
        loop.call_soon([&times, &loop] {
            times.push_back(loop.time());
            loop.call_later(500ms, [&times, &loop] {
                times.push_back(loop.time());
                loop.stop();
            });
        });
    });
    loop.run_forever();
    const std::vector<loop_clock::time_point> expected{at(1s), at(1s), at(1500ms)};
    CHECK(times == expected);
}

TEST_CASE("event_loop: the monotonic clock advances", "[loop]") {
    event_loop loop;
    CHECK(loop.clock() == clock_kind::monotonic);
    const auto start = loop.time();
    loop_clock::time_point fired_at;
    const auto t = loop.call_later(1ms, [&fired_at, &loop] {
        fired_at = loop.time();
        loop.stop();
    });
    CHECK(t.when() >= start + 1ms);
    loop.run_forever();
    CHECK(fired_at > start);
    CHECK(loop.time() >= fired_at);
}

TEST_CASE("event_loop: get_running_loop throws outside a running loop and returns it inside",
          "[loop]") {
    // CPython 3.13 outside a loop: RuntimeError('no running event loop').
    REQUIRE_THROWS_WITH(asyncio::get_running_loop(), "no running event loop");
    event_loop loop{clock_kind::virtual_time};
    REQUIRE_THROWS_AS(asyncio::get_running_loop(), std::runtime_error);
    event_loop* inside = nullptr;
    loop.call_soon([&inside] { inside = &asyncio::get_running_loop(); });
    run_one_iteration(loop);
    CHECK(inside == &loop);
    REQUIRE_THROWS_AS(asyncio::get_running_loop(), std::runtime_error);
}

TEST_CASE("event_loop: is_running is true only while the loop runs", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    CHECK(!loop.is_running());
    bool inside = false;
    loop.call_soon([&inside, &loop] { inside = loop.is_running(); });
    run_one_iteration(loop);
    CHECK(inside);
    CHECK(!loop.is_running());
}

TEST_CASE("event_loop: call_later with a NaN duration throws invalid_argument", "[loop]") {
    // Deliberate deviation: CPython 3.13 accepts call_later(nan) and the next select() fails
    // with ValueError('cannot convert float NaN to integer').
    event_loop loop{clock_kind::virtual_time};
    const std::chrono::duration<double> nan{std::numeric_limits<double>::quiet_NaN()};
    REQUIRE_THROWS_AS(loop.call_later(nan, [] {}), std::invalid_argument);
    CHECK(loop.pending_timers() == 0U);
}

TEST_CASE("event_loop: the default exception handler writes the report to stderr", "[loop]") {
    event_loop loop{clock_kind::virtual_time};
    exception_context ctx;
    ctx.message = "something odd happened";
    ctx.exception = std::make_exception_ptr(std::runtime_error("odd detail"));

    SECTION("call_exception_handler without a custom handler") {
        const std::string out = capture_stderr([&] { loop.call_exception_handler(ctx); });
        CHECK(contains(out, "something odd happened"));
        CHECK(contains(out, "odd detail"));
    }
    SECTION("default_exception_handler called directly") {
        const std::string out = capture_stderr([&] { loop.default_exception_handler(ctx); });
        CHECK(contains(out, "something odd happened"));
        CHECK(contains(out, "odd detail"));
    }
}

TEST_CASE("event_loop: set_exception_handler replaces the handler and an empty one restores the "
          "default",
          "[loop]") {
    std::vector<std::string> seen;
    event_loop loop{clock_kind::virtual_time};
    exception_context ctx;
    ctx.message = "replaced handler report";
    loop.set_exception_handler([&seen, &loop](event_loop& l, const exception_context& c) {
        seen.push_back(c.message);
        seen.push_back(&l == &loop ? "same loop" : "other loop");
    });

    const std::string out = capture_stderr([&] { loop.call_exception_handler(ctx); });
    const std::vector<std::string> expected{"replaced handler report", "same loop"};
    CHECK(seen == expected);
    CHECK(!contains(out, "replaced handler report"));

    loop.set_exception_handler(asyncio::exception_handler{});
    const std::string restored = capture_stderr([&] { loop.call_exception_handler(ctx); });
    CHECK(seen.size() == 2U);
    CHECK(contains(restored, "replaced handler report"));
}
