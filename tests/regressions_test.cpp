// SPDX-License-Identifier: MIT
// Regression tests, keyed by the issue in which the bug was found.

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ratio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using asyncio::testing::captured_reports;
using asyncio::testing::run_virtual;

asyncio::task<> consume_forever(asyncio::queue<int>* q, int* got) {
    for (;;) {
        (void)co_await q->get();
        ++*got;
        q->task_done();
    }
}

// The seed's asyncq.py shape: the queue is a local of the main task, which cancels its consumers
// and returns at once; the consumers unwind after the queue is gone.
asyncio::task<> local_queue_then_cancel(int* got, bool wake_one_first) {
    asyncio::queue<int> q;
    std::vector<asyncio::task_handle<>> consumers;
    for (int i = 0; i < 3; ++i) {
        consumers.push_back(asyncio::create_task(consume_forever(&q, got)));
    }
    co_await asyncio::sleep(0s);
    q.put_nowait(1);
    co_await q.join();
    if (wake_one_first) {
        q.put_nowait(2); // one consumer is woken but has not run when the queue dies
    }
    for (auto& c : consumers) {
        c.cancel();
    }
}

} // namespace

TEST_CASE(
    "issue 3: consumers cancelled right before their local queue is destroyed unwind safely") {
    int got = 0;
    run_virtual(local_queue_then_cancel(&got, false));
    CHECK(got == 1);
}

TEST_CASE("issue 3: a consumer woken by a put then cancelled after its queue died unwinds safely") {
    int got = 0;
    run_virtual(local_queue_then_cancel(&got, true));
    CHECK(got == 1);
}

// ---- issue 10: hardening 0.1
// ---------------------------------------------------------------------

namespace {

/// True when `f()` throws an `E` whose what() is `text`.
template <class E, class F> bool throws_with(F f, const std::string& text) {
    try {
        f();
    } catch (const E& e) {
        return e.what() == text;
    } catch (...) {
        return false;
    }
    return false;
}

using log_t = std::vector<std::string>;

asyncio::task<int> value_after(std::chrono::milliseconds d, int v) {
    if (d > 0ms) {
        co_await asyncio::sleep(d);
    }
    co_return v;
}

asyncio::task<int> one() {
    co_return 1;
}

// Three children, those in `mask` already finished when gather is called, the others pending
// (10 ms); `form`: 0 variadic, 1 range, 2 variadic return_exceptions, 3 range return_exceptions.
asyncio::task<> gather_with_finished(unsigned mask, int form) {
    std::vector<asyncio::task_handle<int>> hs;
    for (int i = 0; i < 3; ++i) {
        const bool finished = ((mask >> i) & 1U) != 0;
        hs.push_back(asyncio::create_task(value_after(finished ? 0ms : 10ms, i + 1)));
    }
    co_await asyncio::sleep(1ms);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(hs[static_cast<std::size_t>(i)].done() == (((mask >> i) & 1U) != 0));
    }
    std::vector<int> got;
    switch (form) {
    case 0: {
        auto [a, b, c] = co_await asyncio::gather(hs[0], hs[1], hs[2]);
        got = {a, b, c};
        break;
    }
    case 1:
        got = co_await asyncio::gather(hs);
        break;
    case 2: {
        auto [a, b, c] = co_await asyncio::gather(asyncio::return_exceptions, hs[0], hs[1], hs[2]);
        got = {a.value(), b.value(), c.value()};
        break;
    }
    default: {
        auto outs = co_await asyncio::gather(asyncio::return_exceptions, hs);
        for (auto& o : outs) {
            got.push_back(o.value());
        }
        break;
    }
    }
    CHECK(got == std::vector<int>{1, 2, 3});
    const auto expected_end = mask == 7U ? 1ms : 10ms;
    CHECK(asyncio::get_running_loop().time().time_since_epoch() ==
          std::chrono::nanoseconds(expected_end));
}

} // namespace

// py: tests/py/issue10_gather_finished.py -> [1, 2, 3] for every mask and form
TEST_CASE("issue 10: gather waits for pending children when some children are already done") {
    for (int form = 0; form < 4; ++form) {
        for (unsigned mask = 0; mask < 8; ++mask) {
            CAPTURE(form, mask);
            run_virtual(gather_with_finished(mask, form));
        }
    }
}

namespace {

constexpr const char* other_loop_text =
    "The future belongs to a different loop than the one specified as the loop argument";

asyncio::task<> gather_other_loop(asyncio::task_handle<int> done_elsewhere,
                                  asyncio::future<int> pending_elsewhere) {
    REQUIRE(done_elsewhere.done());
    CHECK(throws_with<std::invalid_argument>([&] { (void)asyncio::gather(done_elsewhere); },
                                             other_loop_text));
    CHECK(throws_with<std::invalid_argument>(
        [&] { (void)asyncio::gather(one(), pending_elsewhere); }, other_loop_text));
    std::vector<asyncio::task_handle<int>> range{done_elsewhere};
    CHECK(
        throws_with<std::invalid_argument>([&] { (void)asyncio::gather(range); }, other_loop_text));
    CHECK(throws_with<std::invalid_argument>(
        [&] { (void)asyncio::gather(asyncio::return_exceptions, range); }, other_loop_text));
    // py: RuntimeError: Task ... got Future ... attached to a different loop
    bool raised = false;
    try {
        (void)co_await pending_elsewhere;
    } catch (const std::runtime_error& e) {
        raised = std::string(e.what()).find("attached to a different loop") != std::string::npos;
    }
    CHECK(raised);
    // A finished future of another loop gives its result without suspending, as in CPython.
    CHECK(co_await done_elsewhere == 1);
}

} // namespace

// py: tests/py/issue10_other_loop.py
TEST_CASE("issue 10: gather of a child of another loop raises invalid_argument, and awaiting a "
          "pending future of another loop raises runtime_error") {
    asyncio::event_loop other(asyncio::clock_kind::virtual_time);
    asyncio::task_handle<int> done = other.create_task(one());
    other.run_until_complete(done);
    asyncio::future<int> pending = other.create_future<int>();
    run_virtual(gather_other_loop(done, pending));
    pending.cancel();
}

namespace {

asyncio::task<> cancel_message_cases(log_t* log) {
    auto sleeper = [](log_t* l, std::string name) -> asyncio::task<> {
        try {
            co_await asyncio::sleep(1s);
        } catch (const asyncio::cancelled_error& e) {
            l->push_back(name + " saw '" + e.message() + "'");
            throw;
        }
    };
    auto blocked = [](log_t* l, std::string name, auto aw) -> asyncio::task<> {
        try {
            co_await aw;
        } catch (const asyncio::cancelled_error& e) {
            l->push_back(name + " saw '" + e.message() + "'");
            throw;
        }
    };
    auto awaited_message = [](asyncio::task_handle<> t) -> asyncio::task<std::string> {
        try {
            co_await t;
        } catch (const asyncio::cancelled_error& e) {
            co_return e.message();
        }
        co_return "no cancellation";
    };
    // 1. A sleeping task: cancel("first") then cancel().
    auto t = asyncio::create_task(sleeper(log, "sleep"));
    co_await asyncio::sleep(0s);
    CHECK(t.cancel("first"));
    CHECK(t.cancel());
    CHECK(t.cancelling() == 2);
    log->push_back("awaiter got '" + co_await awaited_message(t) + "'");
    // 2. Blocked on a future.
    auto f = asyncio::get_running_loop().create_future<int>();
    t = asyncio::create_task(blocked(log, "future", f));
    co_await asyncio::sleep(0s);
    CHECK(t.cancel("first"));
    CHECK(t.cancel("second"));
    log->push_back("awaiter got '" + co_await awaited_message(t) + "'");
    // 3. Blocked on a task.
    auto inner = asyncio::create_task(sleeper(log, "inner"));
    t = asyncio::create_task(blocked(log, "outer", inner));
    co_await asyncio::sleep(0s);
    CHECK(t.cancel("first"));
    CHECK(t.cancel());
    log->push_back("awaiter got '" + co_await awaited_message(t) + "'");
    // 4. b cancelled, then cancelled again with "via-outer" by the task awaiting it.
    auto b = asyncio::create_task(sleeper(log, "b"));
    auto a = asyncio::create_task(blocked(log, "a", b));
    co_await asyncio::sleep(0s);
    CHECK(b.cancel());
    CHECK(a.cancel("via-outer"));
    CHECK(b.cancelling() == 2);
    CHECK(a.cancelling() == 1);
    for (int i = 0; i < 3; ++i) {
        co_await asyncio::sleep(0s);
    }
    CHECK(a.cancelled());
    CHECK(b.cancelled());
    // 5. Not blocked (not started yet): the last message wins.
    t = asyncio::create_task(sleeper(log, "queued"));
    CHECK(t.cancel("first"));
    CHECK(t.cancel("second"));
    log->push_back("awaiter got '" + co_await awaited_message(t) + "'");
    // 6. Woken from sleep(0), then cancelled twice: the last message wins.
    auto yielder = [](log_t* l) -> asyncio::task<> {
        try {
            co_await asyncio::sleep(0s);
            l->push_back("yielder resumed");
        } catch (const asyncio::cancelled_error& e) {
            l->push_back("yielder saw '" + e.message() + "'");
        }
    };
    t = asyncio::create_task(yielder(log));
    co_await asyncio::sleep(0s);
    CHECK(t.cancel("one"));
    CHECK(t.cancel("two"));
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
}

} // namespace

// py: tests/py/issue10_cancel_message.py
TEST_CASE("issue 10: a second cancel() does not rewrite the message of a cancellation under way") {
    log_t log;
    run_virtual(cancel_message_cases(&log));
    CHECK(log == log_t{"sleep saw 'first'", "awaiter got 'first'", "future saw 'first'",
                       "awaiter got 'first'", "inner saw 'first'", "outer saw 'first'",
                       "awaiter got 'first'", "b saw ''", "a saw ''", "awaiter got 'second'",
                       "yielder saw 'two'"});
}

namespace {

asyncio::task<> await_next(int n, std::vector<asyncio::task_handle<>>* chain) {
    if (n == 0) {
        co_await asyncio::sleep(1h);
        co_return;
    }
    auto next = asyncio::create_task(await_next(n - 1, chain));
    chain->push_back(next);
    co_await next;
}

asyncio::task<> nested_gathers(int n) {
    if (n == 0) {
        co_await asyncio::sleep(1h);
        co_return;
    }
    co_await asyncio::gather(nested_gathers(n - 1));
}

asyncio::task<> cancel_deep_chain(int depth, bool gathers) {
    std::vector<asyncio::task_handle<>> chain;
    auto top = asyncio::create_task(gathers ? nested_gathers(depth) : await_next(depth, &chain));
    // Long enough for every level to start (one level per iteration).
    co_await asyncio::sleep(1s);
    CHECK(top.cancel("deep"));
    bool cancelled = false;
    try {
        co_await top;
    } catch (const asyncio::cancelled_error& e) {
        cancelled = e.message() == "deep";
    }
    CHECK(cancelled);
    for (auto& t : chain) {
        CHECK(t.cancelled());
    }
    CHECK(asyncio::all_tasks().size() == 1);
}

asyncio::task<> inline_chain(int n) {
    if (n == 0) {
        co_await asyncio::sleep(1h);
        co_return;
    }
    co_await inline_chain(n - 1);
}

} // namespace

TEST_CASE(
    "issue 10: cancelling a chain of 100,000 tasks awaiting each other walks it iteratively") {
    run_virtual(cancel_deep_chain(100'000, false));
}

TEST_CASE("issue 10: cancelling 100000 nested gathers walks them iteratively") {
    run_virtual(cancel_deep_chain(100'000, true));
}

TEST_CASE("issue 10: destroying a loop holding a 100000-deep inline await chain does not "
          "recurse") {
    captured_reports reports;
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        loop.set_exception_handler([&](asyncio::event_loop&, const asyncio::exception_context& c) {
            reports.items.push_back(c);
        });
        auto t = loop.create_task(inline_chain(100'000));
        loop.run_until_complete(value_after(1ms, 0));
        REQUIRE_FALSE(t.done());
    }
    CHECK(reports.items.size() == 1);
    CHECK(reports.contains("Task was destroyed but it is pending!"));
}

TEST_CASE(
    "issue 10: every operation on an empty task_handle or future raises invalid_state_error") {
    asyncio::task_handle<int> h;
    asyncio::task_ref r;
    asyncio::future<int> f;
    CHECK_THROWS_AS((void)h.done(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)h.cancelled(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(h.cancel(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)h.result(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)h.exception(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)h.get_name(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)h.cancelling(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(h.uncancel(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(h.add_done_callback([] {}), asyncio::invalid_state_error);
    CHECK_THROWS_AS(h.remove_done_callback(1), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)r.done(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(r.set_name("x"), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)f.done(), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)f.cancelled(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(f.cancel(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(f.set_result(1), asyncio::invalid_state_error);
    CHECK_THROWS_AS((void)f.result(), asyncio::invalid_state_error);
    CHECK_THROWS_AS(f.add_done_callback([] {}), asyncio::invalid_state_error);
    auto awaits = [](asyncio::task_handle<int> eh, asyncio::future<int> ef) -> asyncio::task<> {
        CHECK_THROWS_AS((void)co_await ef, asyncio::invalid_state_error);
        CHECK_THROWS_AS((void)co_await eh, asyncio::invalid_state_error);
        CHECK_THROWS_AS((void)asyncio::gather(eh), asyncio::invalid_state_error);
        CHECK_THROWS_AS((void)asyncio::gather(ef), asyncio::invalid_state_error);
    };
    run_virtual(awaits(h, f));
}

namespace {

asyncio::task<> sleep_forever() {
    co_await asyncio::sleep(1h);
}

} // namespace

TEST_CASE("issue 10: a task whose loop was destroyed while it was pending reads as cancelled") {
    asyncio::task_handle<> h;
    captured_reports reports;
    {
        asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
        loop.set_exception_handler([&](asyncio::event_loop&, const asyncio::exception_context& c) {
            reports.items.push_back(c);
        });
        h = loop.create_task(sleep_forever());
        loop.run_until_complete(value_after(1ms, 0));
    }
    CHECK(reports.contains("Task was destroyed but it is pending!"));
    CHECK(h.done());
    CHECK(h.cancelled());
    CHECK_FALSE(h.cancel());
    CHECK_THROWS_AS(h.result(), asyncio::cancelled_error);
    CHECK(throws_with<std::runtime_error>([&] { h.add_done_callback([] {}); },
                                          "Event loop is closed"));
}

namespace {

asyncio::task<> run_second_loop(captured_reports* reports) {
    asyncio::event_loop second(asyncio::clock_kind::virtual_time);
    second.set_exception_handler(
        [reports](asyncio::event_loop&, const asyncio::exception_context& c) {
            reports->items.push_back(c);
        });
    CHECK(
        throws_with<std::runtime_error>([&] { second.run_until_complete(one()); },
                                        "Cannot run the event loop while another loop is running"));
    co_return;
}

} // namespace

TEST_CASE("issue 10: run_until_complete on a second loop while one runs creates no task") {
    captured_reports reports;
    run_virtual(run_second_loop(&reports));
    CHECK(reports.items.empty());
}

namespace {

asyncio::async_generator<int> count_to(int n) {
    for (int i = 1; i <= n; ++i) {
        co_yield i;
    }
}

// Each awaitable stored in a variable, then awaited as an rvalue: g++ 12 copies such an operand
// (GCC bug 99575), so every non-copyable awaitable must go through operator co_await.
asyncio::task<int> await_each_moved() {
    int total = 0;
    auto g = asyncio::gather(one(), value_after(1ms, 2));
    auto [a, b] = co_await std::move(g);
    total += a + b;
    std::vector<asyncio::task<int>> tasks;
    tasks.push_back(one());
    auto gr = asyncio::gather(tasks);
    total += (co_await std::move(gr))[0];
    auto ge = asyncio::gather(asyncio::return_exceptions, one());
    total += std::get<0>(co_await std::move(ge)).value();
    auto lazy = one();
    total += co_await std::move(lazy);
    auto h = asyncio::create_task(one());
    total += co_await std::move(h);
    auto f = asyncio::get_running_loop().create_future<int>();
    f.set_result(1);
    total += co_await std::move(f);
    asyncio::queue<int> q;
    auto put = q.put(1);
    co_await std::move(put);
    auto get = q.get();
    total += co_await std::move(get);
    q.task_done();
    auto join = q.join();
    co_await std::move(join);
    auto s = asyncio::sleep(1ms);
    co_await std::move(s);
    auto gen = count_to(2);
    auto next = gen.next();
    total += *(co_await std::move(next));
    auto close = gen.aclose();
    co_await std::move(close);
    co_return total;
}

asyncio::task<> await_gather_twice() {
    auto g = asyncio::gather(one());
    auto [a] = co_await g;
    CHECK(a == 1);
    CHECK(throws_with<std::runtime_error>(
        [&] {
            // await_resume again, as a second co_await would after not suspending
            (void)asyncio::detail::get_awaiter(g).await_resume();
        },
        "cannot reuse already awaited gather: its results were already taken"));
    std::vector<asyncio::task<int>> ts;
    ts.push_back(one());
    auto gr = asyncio::gather(ts);
    auto r = co_await gr;
    CHECK(r[0] == 1);
    bool raised = false;
    try {
        (void)co_await gr;
    } catch (const std::runtime_error&) {
        raised = true;
    }
    CHECK(raised);
}

} // namespace

TEST_CASE("issue 10: every non-copyable awaitable can be awaited as an rvalue (co_await "
          "std::move(x))") {
    CHECK(run_virtual(await_each_moved()) == 10);
}

TEST_CASE("issue 10: awaiting a gather a second time raises instead of reading moved-from "
          "results") {
    run_virtual(await_gather_twice());
}

namespace {

template <class... A>
concept can_gather = requires(A&&... a) { asyncio::gather(std::forward<A>(a)...); };

// The mistakes the issue names are rejected by gather's constraints, so the compiler's first
// error is "no matching function for call to gather" with the unsatisfied concept, not 20 lines
// from inside gather.hpp.
static_assert(can_gather<asyncio::task<int>, asyncio::task<>>);
static_assert(can_gather<asyncio::task_handle<int>&, asyncio::future<int>&>);
static_assert(can_gather<std::vector<asyncio::task<int>>&>);
static_assert(!can_gather<asyncio::task<int>, int>);
static_assert(!can_gather<std::vector<int>>);
static_assert(!can_gather<asyncio::task<int>&>); // a named lazy task: gather(std::move(t))
static_assert(!can_gather<asyncio::return_exceptions_t, int>);
static_assert(asyncio::awaitable<asyncio::task<int>>);
static_assert(asyncio::awaitable<decltype(asyncio::sleep(1ms))>);
static_assert(!asyncio::awaitable<int>);
static_assert(std::is_same_v<asyncio::await_result_t<asyncio::task<int>>, int>);

asyncio::task<> ensure_future_of_awaitables() {
    auto& loop = asyncio::get_running_loop();
    asyncio::task_handle<> slept = asyncio::ensure_future(asyncio::sleep(5ms), loop);
    CHECK_FALSE(slept.done());
    co_await slept;
    CHECK(loop.time().time_since_epoch() == 5ms);
}

} // namespace

TEST_CASE("issue 10: run_until_complete, ensure_future and run accept any awaitable") {
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    loop.run_until_complete(asyncio::sleep(3ms));
    CHECK(loop.time().time_since_epoch() == 3ms);
    run_virtual(ensure_future_of_awaitables());
    asyncio::run(asyncio::sleep(0ms));
    asyncio::run_options opts;
    opts.clock = asyncio::clock_kind::virtual_time;
    asyncio::run(asyncio::sleep(1h), opts); // an hour of virtual time
}

// ---- issue 10 item 5: durations of every representation and ratio

namespace {

template <class Rep, class Period>
asyncio::task<std::int64_t> nanoseconds_slept(std::chrono::duration<Rep, Period> d) {
    auto& loop = asyncio::get_running_loop();
    const auto start = loop.time();
    co_await asyncio::sleep(d);
    co_return (loop.time() - start).count();
}

/// When a call_later timer of `d` fires on a fresh virtual-time loop (nanoseconds from the start).
template <class Rep, class Period>
std::int64_t call_later_fires_at(std::chrono::duration<Rep, Period> d) {
    asyncio::event_loop loop{asyncio::clock_kind::virtual_time};
    std::int64_t fired = -1;
    (void)loop.call_later(d, [&loop, &fired] {
        fired = loop.time().time_since_epoch().count();
        loop.stop();
    });
    loop.run_forever();
    return fired;
}

} // namespace

TEST_CASE("issue 10: sleep with an unsigned representation waits the whole delay") {
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<unsigned, std::milli>(500))) ==
          500'000'000);
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<std::uint64_t>(2))) == 2'000'000'000);
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<std::uint8_t, std::micro>(255))) ==
          255'000);
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<std::uint64_t, std::nano>(7))) == 7);
}

TEST_CASE("issue 10: call_later with an unsigned representation fires after the whole delay") {
    CHECK(call_later_fires_at(std::chrono::duration<unsigned, std::milli>(500)) == 500'000'000);
    CHECK(call_later_fires_at(std::chrono::duration<std::uint64_t>(2)) == 2'000'000'000);
    CHECK(call_later_fires_at(std::chrono::duration<std::uint16_t, std::ratio<60>>(3)) ==
          180'000'000'000);
}

TEST_CASE("issue 10: sleep with floating, tiny and huge ratios waits exactly the converted delay") {
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<double, std::ratio<1, 3>>(3.0))) ==
          1'000'000'000);
    CHECK(run_virtual(nanoseconds_slept(
              std::chrono::duration<std::int64_t, std::atto>(1'500'000'000))) == 1);
    CHECK(run_virtual(nanoseconds_slept(
              std::chrono::duration<std::uint32_t, std::pico>(4'000'000'000U))) == 4'000'000);
    CHECK(run_virtual(nanoseconds_slept(std::chrono::duration<float, std::milli>(2.5F))) ==
          2'500'000);
}

TEST_CASE("issue 10: call_later with a huge ratio is armed for the end of time, not now") {
    asyncio::event_loop loop{asyncio::clock_kind::virtual_time};
    bool fired = false;
    auto h = loop.call_later(std::chrono::duration<std::uint8_t, std::ratio<1'000'000'000'000>>(1),
                             [&fired] { fired = true; });
    (void)loop.call_later(std::chrono::hours(24), [&loop] { loop.stop(); });
    loop.run_forever();
    CHECK_FALSE(fired);
    CHECK(h.when().time_since_epoch().count() == asyncio::detail::max_ns);
    h.cancel();
}
