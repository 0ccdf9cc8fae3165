// SPDX-License-Identifier: MIT
// Tests for repr.hpp: the debug strings of futures, tasks, handles and queues against CPython's.
//
// The `// py:` lines are printed by tests/py/repr.py under CPython 3.13.0
// (`PYENV_VERSION=3.13.0 python3 tests/py/repr.py`). Where C++ cannot know a field (a coroutine's
// name and line, what a task waits for, a callback's name) the expected string leaves it out, as
// repr.hpp documents.

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(__cpp_lib_format)
#include <format>
#endif

using namespace std::chrono_literals;

using asyncio::testing::captured_reports;
using asyncio::testing::run_virtual;

namespace {

template <class V> std::string str(const V& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

/// The debug string with the object's address shown as 0x..., as tests/py/repr.py masks it.
template <class V> std::string masked(const V& v) {
    static const std::regex address("0x[0-9a-f]+");
    return std::regex_replace(str(v), address, "0x...");
}

struct point {
    int x = 0;
    int y = 0;
};

struct printable {
    int v = 0;
    friend std::ostream& operator<<(std::ostream& os, const printable& p) {
        return os << "printable(" << p.v << ')';
    }
};

struct odd_error {};

asyncio::task<void> sleep_long() {
    co_await asyncio::sleep(10s);
}
template <class T> asyncio::task<T> give(T v) {
    co_return v;
}
asyncio::task<void> put_into(asyncio::queue<int>* q, int v) {
    co_await q->put(v);
}
asyncio::task<int> get_from(asyncio::queue<int>* q) {
    co_return co_await q->get();
}
asyncio::task<void> fail_x() {
    throw std::invalid_argument("x");
    co_return;
}
asyncio::task<void> wait_for_event(asyncio::event* e) {
    co_await e->wait();
}
asyncio::task<void> take_lock(asyncio::lock* l) {
    co_await l->acquire();
}
asyncio::task<void> take_unit(asyncio::semaphore* s) {
    co_await s->acquire();
}
asyncio::task<void> wait_notified(asyncio::condition* c) {
    auto held = co_await c->acquire_guard();
    co_await c->wait();
}
asyncio::task<std::ptrdiff_t> arrive(asyncio::barrier* b) {
    co_return co_await b->wait();
}
asyncio::task<int> boom() {
    throw std::invalid_argument("x");
    co_return 0;
}

} // namespace

TEST_CASE("repr: an empty queue prints its maxsize only") {
    // py: queue empty: <Queue maxsize=0>
    asyncio::queue<int> q;
    CHECK(str(q) == "<Queue maxsize=0>");
}

TEST_CASE("repr: a queue lists its items and unfinished tasks") {
    // py: queue one item: <Queue maxsize=1 _queue=[1] tasks=1>
    asyncio::queue<int> q(1);
    q.put_nowait(1);
    CHECK(str(q) == "<Queue maxsize=1 _queue=[1] tasks=1>");
}

TEST_CASE("repr: a queue counts the tasks blocked in put and in get") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::queue<int> q(1);
        co_await q.put(1);
        auto putter = asyncio::create_task(put_into(&q, 2));
        co_await asyncio::sleep(0s);
        // py: queue with putter: <Queue maxsize=1 _queue=[1] _putters[1] tasks=1>
        CHECK(str(q) == "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
        (void)q.get_nowait();
        q.task_done();
        co_await putter;
        (void)q.get_nowait();
        auto getter = asyncio::create_task(get_from(&q));
        co_await asyncio::sleep(0s);
        // py: queue with getter: <Queue maxsize=1 _getters[1] tasks=1>
        CHECK(str(q) == "<Queue maxsize=1 _getters[1] tasks=1>");
        getter.cancel();
        co_await asyncio::sleep(0s);
        CHECK(str(q) == "<Queue maxsize=1 tasks=1>");
    }());
}

TEST_CASE("repr: a shut down queue says so, and its string items are quoted") {
    // py: queue shut down: <Queue maxsize=0 _queue=['a', 'b'] tasks=2 shutdown>
    asyncio::queue<std::string> q;
    q.put_nowait("a");
    q.put_nowait("b");
    q.shutdown();
    CHECK(str(q) == "<Queue maxsize=0 _queue=['a', 'b'] tasks=2 shutdown>");
}

TEST_CASE("repr: a priority queue lists its items in the order they come out") {
    // py: priority queue: <PriorityQueue maxsize=0 _queue=[1, 3, 2] tasks=3>
    // (CPython prints heapq's array; repr.hpp prints the order of get(), documented there.)
    asyncio::priority_queue<int> q;
    for (int v : {3, 1, 2}) {
        q.put_nowait(v);
    }
    CHECK(str(q) == "<PriorityQueue maxsize=0 _queue=[1, 2, 3] tasks=3>");
    asyncio::priority_queue<int, std::greater<>> g;
    for (int v : {3, 1, 2}) {
        g.put_nowait(v);
    }
    CHECK(str(g) == "<PriorityQueue maxsize=0 _queue=[3, 2, 1] tasks=3>");
}

TEST_CASE("repr: a lifo queue lists its items oldest first") {
    // py: lifo queue: <LifoQueue maxsize=5 _queue=[1, 2, 3] tasks=3>
    asyncio::lifo_queue<int> q(5);
    for (int v : {1, 2, 3}) {
        q.put_nowait(v);
    }
    CHECK(str(q) == "<LifoQueue maxsize=5 _queue=[1, 2, 3] tasks=3>");
}

TEST_CASE("repr: a future in each state") {
    run_virtual([]() -> asyncio::task<void> {
        auto& loop = asyncio::get_running_loop();
        auto f = loop.create_future<int>();
        // py: future pending: <Future pending>
        CHECK(str(f) == "<Future pending>");
        f.set_result(1);
        // py: future result: <Future finished result=1>
        CHECK(str(f) == "<Future finished result=1>");
        auto s = loop.create_future<std::string>();
        s.set_result("x");
        // py: future str result: <Future finished result='x'>
        CHECK(str(s) == "<Future finished result='x'>");
        auto v = loop.create_future<void>();
        v.set_result();
        // py: future none result: <Future finished result=None>
        CHECK(str(v) == "<Future finished result=None>");
        auto e = loop.create_future<int>();
        e.set_exception(std::make_exception_ptr(std::invalid_argument("x")));
        (void)e.exception();
        // py: future exception: <Future finished exception=ValueError('x')>
        CHECK(str(e) == "<Future finished exception=std::invalid_argument('x')>");
        auto c = loop.create_future<int>();
        c.cancel("why");
        // py: future cancelled: <Future cancelled>
        CHECK(str(c) == "<Future cancelled>");
        // py: future with callback: <Future pending cb=[main.<locals>.<lambda>() at ...]>
        auto cb = loop.create_future<int>();
        cb.add_done_callback([] {});
        CHECK(str(cb) == "<Future pending>");
        cb.cancel();
        co_return;
    }());
}

TEST_CASE("repr: a long string result is shortened as reprlib does") {
    run_virtual([]() -> asyncio::task<void> {
        auto f = asyncio::get_running_loop().create_future<std::string>();
        f.set_result(std::string(40, 'a'));
        // py: future long str: <Future finished result='aaaaaaaaaaaa...aaaaaaaaaaaaa'>
        CHECK(str(f) == "<Future finished result='aaaaaaaaaaaa...aaaaaaaaaaaaa'>");
        co_return;
    }());
}

TEST_CASE("repr: strings are quoted and escaped as Python's repr does") {
    run_virtual([]() -> asyncio::task<void> {
        auto& loop = asyncio::get_running_loop();
        auto show = [&](std::string s) {
            auto f = loop.create_future<std::string>();
            f.set_result(std::move(s));
            return str(f);
        };
        // py: string result: <Future finished result="it's">
        CHECK(show("it's") == R"(<Future finished result="it's">)");
        // py: string result: <Future finished result='say "hi"'>
        CHECK(show("say \"hi\"") == R"(<Future finished result='say "hi"'>)");
        // py: string result: <Future finished result='both \' and "'>
        CHECK(show("both ' and \"") == R"(<Future finished result='both \' and "'>)");
        // py: string result: <Future finished result='tab\tnew\nline\\'>
        CHECK(show("tab\tnew\nline\\") == R"(<Future finished result='tab\tnew\nline\\'>)");
        // py: string result: <Future finished result='\x01\x7f'>
        CHECK(show("\x01\x7f") == R"(<Future finished result='\x01\x7f'>)");
        co_return;
    }());
}

TEST_CASE("repr: values print as Python's, through operator<<, or as their type name") {
    run_virtual([]() -> asyncio::task<void> {
        auto& loop = asyncio::get_running_loop();
        auto b = loop.create_future<bool>();
        b.set_result(true);
        CHECK(str(b) == "<Future finished result=True>");
        auto d = loop.create_future<double>();
        d.set_result(1.0);
        CHECK(str(d) == "<Future finished result=1.0>");
        auto p = loop.create_future<printable>();
        p.set_result(printable{7});
        CHECK(str(p) == "<Future finished result=printable(7)>");
        auto u = loop.create_future<point>();
        u.set_result(point{1, 2});
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
        CHECK(str(u) == "<Future finished result=<(anonymous namespace)::point>>");
#else
        CHECK(str(u) == "<Future finished result=<object>>");
#endif
        auto c = loop.create_future<std::uint8_t>();
        c.set_result(std::uint8_t{65});
        CHECK(str(c) == "<Future finished result=65>");
        co_return;
    }());
}

TEST_CASE("repr: floats print as Python's float repr") {
    // Python: repr(1.0) '1.0', repr(0.001) '0.001', repr(1e-05) '1e-05', repr(100000.0)
    // '100000.0', repr(1e16) '1e+16', repr(12.5) '12.5', repr(-0.25) '-0.25', repr(1/3)
    // '0.3333333333333333', repr(123456789012345.6) '123456789012345.6'
    auto f = [](double v) {
        std::ostringstream os;
        asyncio::detail::repr::write_float(os, v);
        return os.str();
    };
    CHECK(f(1.0) == "1.0");
    CHECK(f(0.001) == "0.001");
    CHECK(f(1e-05) == "1e-05");
    CHECK(f(100000.0) == "100000.0");
    CHECK(f(1e16) == "1e+16");
    CHECK(f(12.5) == "12.5");
    CHECK(f(-0.25) == "-0.25");
    CHECK(f(1.0 / 3) == "0.3333333333333333");
    CHECK(f(123456789012345.6) == "123456789012345.6");
}

TEST_CASE("repr: printing a failed future does not mark its exception retrieved") {
    captured_reports reports;
    run_virtual(
        []() -> asyncio::task<void> {
            auto f = asyncio::get_running_loop().create_future<int>();
            f.set_exception(std::make_exception_ptr(std::runtime_error("lost")));
            CHECK(str(f) == "<Future finished exception=std::runtime_error('lost')>");
            co_return;
        }(),
        &reports);
    CHECK(reports.contains("Future exception was never retrieved"));
}

TEST_CASE("repr: a task in each state, named") {
    run_virtual([]() -> asyncio::task<void> {
        auto t = asyncio::create_task(sleep_long(), "sleeper");
        // py: task before start: <Task pending name='sleeper' coro=<...child() running at ...>>
        CHECK(str(t) == "<Task pending name='sleeper'>");
        co_await asyncio::sleep(0s);
        // py: task pending: <Task pending name='sleeper' coro=<...> wait_for=<Future pending ...>>
        CHECK(str(t) == "<Task pending name='sleeper'>");
        t.cancel();
        // py: task cancelling: <Task cancelling name='sleeper' coro=<...> wait_for=<Future ...>>
        CHECK(str(t) == "<Task cancelling name='sleeper'>");
        bool cancelled = false;
        try {
            co_await t;
        } catch (const asyncio::cancelled_error&) {
            cancelled = true;
        }
        CHECK(cancelled);
        // py: task cancelled: <Task cancelled name='sleeper' coro=<...child() done, ...>>
        CHECK(str(t) == "<Task cancelled name='sleeper'>");

        auto r = asyncio::create_task(give(1), "x");
        co_await r;
        // py: task result: <Task finished name='x' coro=<...ret() done, defined at ...> result=1>
        CHECK(str(r) == "<Task finished name='x' result=1>");
        auto s = asyncio::create_task(give(std::string("s")), "x");
        co_await s;
        // py: task str result: <Task finished name='x' coro=<...> result='s'>
        CHECK(str(s) == "<Task finished name='x' result='s'>");
        auto n = asyncio::create_task([]() -> asyncio::task<void> { co_return; }(), "x");
        co_await n;
        // py: task none result: <Task finished name='x' coro=<...> result=None>
        CHECK(str(n) == "<Task finished name='x' result=None>");
        auto e = asyncio::create_task(boom(), "x");
        bool failed = false;
        try {
            co_await e;
        } catch (const std::invalid_argument&) {
            failed = true;
        }
        CHECK(failed);
        // py: task exception: <Task finished name='x' coro=<...> exception=ValueError('x')>
        CHECK(str(e) == "<Task finished name='x' exception=std::invalid_argument('x')>");
    }());
}

TEST_CASE("repr: a task's default name and its type-erased reference") {
    run_virtual([]() -> asyncio::task<void> {
        // The main task of asyncio::run is Task-1 here, as in CPython.
        CHECK(str(asyncio::current_task()) == "<Task pending name='Task-1'>");
        auto r = asyncio::create_task(give(5));
        co_await r;
        asyncio::task_ref ref = r;
        CHECK(str(r) == "<Task finished name='Task-2' result=5>");
        CHECK(str(ref) == "<Task finished name='Task-2'>");
        auto e = asyncio::create_task(boom());
        bool failed = false;
        try {
            co_await e;
        } catch (const std::invalid_argument&) {
            failed = true;
        }
        CHECK(failed);
        asyncio::task_ref eref = e;
        CHECK(str(eref) == "<Task finished name='Task-3' exception=std::invalid_argument('x')>");
    }());
}

TEST_CASE("repr: an exception of a type outside std::exception prints its type") {
    run_virtual([]() -> asyncio::task<void> {
        auto f = asyncio::get_running_loop().create_future<int>();
        f.set_exception(std::make_exception_ptr(odd_error{}));
        (void)f.exception();
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
        CHECK(str(f) == "<Future finished exception=(anonymous namespace)::odd_error()>");
#endif
        auto c = asyncio::get_running_loop().create_future<int>();
        c.set_exception(std::make_exception_ptr(asyncio::cancelled_error("m")));
        CHECK(str(c) == "<Future finished exception=asyncio::cancelled_error('m')>");
        (void)c.exception();
        co_return;
    }());
}

TEST_CASE("repr: handles and timer handles, live and cancelled") {
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    auto h = loop.call_soon([] {});
    // py: handle: <Handle main.<locals>.cb() at .../repr.py:115>
    CHECK(str(h) == "<Handle>");
    h.cancel();
    // py: handle cancelled: <Handle cancelled>
    CHECK(str(h) == "<Handle cancelled>");
    auto th = loop.call_at(asyncio::loop_clock::time_point(12500ms), [] {});
    // py: timer handle: <TimerHandle when=12.5 main.<locals>.cb() at .../repr.py:115>
    CHECK(str(th) == "<TimerHandle when=12.5>");
    th.cancel();
    // py: timer handle cancelled: <TimerHandle cancelled when=12.5>
    CHECK(str(th) == "<TimerHandle cancelled when=12.5>");
    CHECK(str(asyncio::handle{}) == "<Handle empty>");
    CHECK(str(asyncio::future<int>{}) == "<Future empty>");
    CHECK(str(asyncio::task_handle<int>{}) == "<Task empty>");
}

TEST_CASE("repr: an event, unset or set, with its waiters") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::event e;
        // py: event: <asyncio.locks.Event object at 0x... [unset]>
        CHECK(masked(e) == "<asyncio.locks.Event object at 0x... [unset]>");
        auto w = asyncio::create_task(wait_for_event(&e));
        co_await asyncio::sleep(0s);
        // py: event with waiter: <asyncio.locks.Event object at 0x... [unset, waiters:1]>
        CHECK(masked(e) == "<asyncio.locks.Event object at 0x... [unset, waiters:1]>");
        e.set();
        // py: event set, waiter not run yet: <asyncio.locks.Event object at 0x... [set,
        // waiters:1]>
        CHECK(masked(e) == "<asyncio.locks.Event object at 0x... [set, waiters:1]>");
        co_await w;
        // py: event set: <asyncio.locks.Event object at 0x... [set]>
        CHECK(masked(e) == "<asyncio.locks.Event object at 0x... [set]>");
        // The address is the object's own.
        std::ostringstream at;
        at << static_cast<const void*>(&e);
        CHECK(str(e).find(" object at " + at.str() + " [") != std::string::npos);
    }());
}

TEST_CASE("repr: a lock, unlocked, locked, with a waiter") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::lock l;
        // py: lock: <asyncio.locks.Lock object at 0x... [unlocked]>
        CHECK(masked(l) == "<asyncio.locks.Lock object at 0x... [unlocked]>");
        co_await l.acquire();
        // py: lock locked: <asyncio.locks.Lock object at 0x... [locked]>
        CHECK(masked(l) == "<asyncio.locks.Lock object at 0x... [locked]>");
        auto t = asyncio::create_task(take_lock(&l));
        co_await asyncio::sleep(0s);
        // py: lock with waiter: <asyncio.locks.Lock object at 0x... [locked, waiters:1]>
        CHECK(masked(l) == "<asyncio.locks.Lock object at 0x... [locked, waiters:1]>");
        l.release();
        co_await t;
        l.release();
    }());
}

TEST_CASE("repr: semaphores show their value while unlocked, their waiters while locked") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::semaphore s(2);
        // py: semaphore: <asyncio.locks.Semaphore object at 0x... [unlocked, value:2]>
        CHECK(masked(s) == "<asyncio.locks.Semaphore object at 0x... [unlocked, value:2]>");
        co_await s.acquire();
        co_await s.acquire();
        // py: semaphore at 0: <asyncio.locks.Semaphore object at 0x... [locked]>
        CHECK(masked(s) == "<asyncio.locks.Semaphore object at 0x... [locked]>");
        auto t = asyncio::create_task(take_unit(&s));
        co_await asyncio::sleep(0s);
        // py: semaphore with waiter: <asyncio.locks.Semaphore object at 0x... [locked, waiters:1]>
        CHECK(masked(s) == "<asyncio.locks.Semaphore object at 0x... [locked, waiters:1]>");
        s.release();
        co_await t;
        const asyncio::bounded_semaphore b(3);
        // py: bounded semaphore: <asyncio.locks.BoundedSemaphore object at 0x... [unlocked,
        // value:3]>
        CHECK(masked(b) == "<asyncio.locks.BoundedSemaphore object at 0x... [unlocked, value:3]>");
    }());
}

TEST_CASE("repr: a condition shows its lock's state and its own waiters") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::condition c;
        // py: condition: <asyncio.locks.Condition object at 0x... [unlocked]>
        CHECK(masked(c) == "<asyncio.locks.Condition object at 0x... [unlocked]>");
        auto t = asyncio::create_task(wait_notified(&c));
        co_await asyncio::sleep(0s);
        // py: condition with waiter: <asyncio.locks.Condition object at 0x... [unlocked,
        // waiters:1]>
        CHECK(masked(c) == "<asyncio.locks.Condition object at 0x... [unlocked, waiters:1]>");
        co_await c.acquire();
        // py: condition locked: <asyncio.locks.Condition object at 0x... [locked, waiters:1]>
        CHECK(masked(c) == "<asyncio.locks.Condition object at 0x... [locked, waiters:1]>");
        c.notify();
        c.release();
        co_await t;
    }());
}

TEST_CASE("repr: a barrier filling, draining, resetting and broken") {
    run_virtual([]() -> asyncio::task<void> {
        asyncio::barrier b(3);
        // py: barrier: <asyncio.locks.Barrier object at 0x... [filling, waiters:0/3]>
        CHECK(masked(b) == "<asyncio.locks.Barrier object at 0x... [filling, waiters:0/3]>");
        std::vector<asyncio::task_handle<std::ptrdiff_t>> ts;
        ts.push_back(asyncio::create_task(arrive(&b)));
        ts.push_back(asyncio::create_task(arrive(&b)));
        co_await asyncio::sleep(0s);
        // py: barrier filling: <asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]>
        CHECK(masked(b) == "<asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]>");
        ts.push_back(asyncio::create_task(arrive(&b)));
        co_await asyncio::sleep(0s);
        // py: barrier draining: <asyncio.locks.Barrier object at 0x... [draining, waiters:0/3]>
        CHECK(masked(b) == "<asyncio.locks.Barrier object at 0x... [draining, waiters:0/3]>");
        (void)co_await asyncio::gather(ts);
        auto t = asyncio::create_task(arrive(&b));
        co_await asyncio::sleep(0s);
        co_await b.reset();
        // py: barrier resetting: <asyncio.locks.Barrier object at 0x... [resetting, waiters:0/3]>
        CHECK(masked(b) == "<asyncio.locks.Barrier object at 0x... [resetting, waiters:0/3]>");
        bool broken = false;
        try {
            (void)co_await t;
        } catch (const asyncio::broken_barrier_error&) {
            broken = true;
        }
        CHECK(broken);
        co_await b.abort();
        // py: barrier broken: <asyncio.locks.Barrier object at 0x... [broken]>
        CHECK(masked(b) == "<asyncio.locks.Barrier object at 0x... [broken]>");
    }());
}

TEST_CASE("repr: a task group entered, with a child, and cancelling after a failure") {
    run_virtual([]() -> asyncio::task<void> {
        co_await asyncio::task_group::run([](asyncio::task_group& tg) -> asyncio::task<void> {
            // py: task group: <TaskGroup entered>
            CHECK(str(tg) == "<TaskGroup entered>");
            tg.create_task(sleep_long());
            // py: task group with a child: <TaskGroup tasks=1 entered>
            CHECK(str(tg) == "<TaskGroup tasks=1 entered>");
            co_return;
        });
        bool grouped = false;
        try {
            co_await asyncio::task_group::run([](asyncio::task_group& tg) -> asyncio::task<void> {
                tg.create_task(sleep_long());
                tg.create_task(fail_x());
                try {
                    co_await asyncio::sleep(1s);
                } catch (const asyncio::cancelled_error&) {
                    // py: task group aborting: <TaskGroup tasks=1 errors=1 cancelling>
                    CHECK(str(tg) == "<TaskGroup tasks=1 errors=1 cancelling>");
                    throw;
                }
            });
        } catch (const asyncio::exception_group&) {
            grouped = true;
        }
        CHECK(grouped);
    }());
}

TEST_CASE("repr: a timeout active with its deadline in seconds (rounded to ms), or expiring") {
    using asyncio::loop_clock;
    run_virtual([]() -> asyncio::task<void> {
        co_await asyncio::timeout_at(loop_clock::time_point(12500ms),
                                     [](asyncio::timeout_scope& t) -> asyncio::task<void> {
                                         // py: timeout: <Timeout [active] when=12.5>
                                         CHECK(str(t) == "<Timeout [active] when=12.5>");
                                         co_return;
                                     });
        co_await asyncio::timeout(std::nullopt,
                                  [](asyncio::timeout_scope& t) -> asyncio::task<void> {
                                      // py: timeout without deadline: <Timeout [active] when=None>
                                      CHECK(str(t) == "<Timeout [active] when=None>");
                                      co_return;
                                  });
        co_await asyncio::timeout_at(loop_clock::time_point(12345600us),
                                     [](asyncio::timeout_scope& t) -> asyncio::task<void> {
                                         // py: timeout rounded: <Timeout [active] when=12.346>
                                         CHECK(str(t) == "<Timeout [active] when=12.346>");
                                         co_return;
                                     });
        bool timed_out = false;
        try {
            co_await asyncio::timeout(0s, [](asyncio::timeout_scope& t) -> asyncio::task<void> {
                try {
                    co_await asyncio::sleep(1s);
                } catch (const asyncio::cancelled_error&) {
                    // py: timeout expiring: <Timeout [expiring]>
                    CHECK(str(t) == "<Timeout [expiring]>");
                    throw;
                }
            });
        } catch (const asyncio::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
    }());
}

#if defined(__cpp_lib_format)
TEST_CASE("repr: std::format prints what operator<< prints") {
    asyncio::queue<int> q(2);
    q.put_nowait(4);
    CHECK(std::format("{}", q) == "<Queue maxsize=2 _queue=[4] tasks=1>");
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    auto th = loop.call_at(asyncio::loop_clock::time_point(1s), [] {});
    CHECK(std::format("{}", th) == "<TimerHandle when=1.0>");
    auto h = loop.call_soon([] {});
    CHECK(std::format("[{}]", h) == "[<Handle>]");
    auto f = loop.create_future<int>();
    CHECK(std::format("{}", f) == "<Future pending>");
    const asyncio::lock l;
    CHECK(std::format("{}", l) == str(l));
    const asyncio::barrier b(2);
    CHECK(std::format("{}", b) == str(b));
}
#endif
