// SPDX-License-Identifier: MIT
// Threads: thread_pool, run_in_executor, to_thread, run_coroutine_threadsafe and the default
// executor's shutdown, on both selectors where a loop waits.
//
// Python observations quoted below are printed by tests/py/threads.py (CPython 3.13.0); the CTest
// case asyncio.py.threads checks that it still prints them (tests/py/threads.expected).

#include "support/io_support.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#if defined(__linux__)
#include <pthread.h>
#include <signal.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using asyncio::clock_kind;
using asyncio::event_loop;
using asyncio::selector_kind;
using asyncio::task;

namespace {

selector_kind any_selector() {
    return GENERATE(selector_kind::epoll, selector_kind::poll);
}

const char* name_of(selector_kind k) {
    return k == selector_kind::epoll ? "epoll" : "poll";
}

asyncio::run_options on(selector_kind sel, clock_kind clock = clock_kind::monotonic) {
    asyncio::run_options o;
    o.clock = clock;
    o.selector = sel;
    return o;
}

/// An executor that keeps its jobs until the test runs them (on the calling thread) or drops them.
struct manual_executor {
    std::vector<std::function<void()>> jobs;
    bool is_shut_down = false;
    void submit(std::function<void()> job) {
        if (is_shut_down) {
            throw std::runtime_error("cannot schedule new futures after shutdown");
        }
        jobs.push_back(std::move(job));
    }
    void shutdown(bool) { is_shut_down = true; }
    void run_pending() {
        std::vector<std::function<void()>> js;
        js.swap(jobs);
        for (auto& j : js) {
            j();
        }
    }
};

/// Counts its live instances across threads.
struct counted {
    static inline std::atomic<int> alive{0};
    int value = 0;
    explicit counted(int v) noexcept : value(v) { ++alive; }
    counted(const counted& o) noexcept : value(o.value) { ++alive; }
    counted(counted&& o) noexcept : value(o.value) { ++alive; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) = default;
    ~counted() { --alive; }
};

/// A one-shot flag another thread waits for.
struct gate {
    std::atomic<bool> open{false};
    void release() { open.store(true); }
    void wait() const {
        while (!open.load()) {
            std::this_thread::sleep_for(1ms);
        }
    }
};

} // namespace

static_assert(asyncio::executor<asyncio::thread_pool>);
static_assert(asyncio::executor<manual_executor>);

TEST_CASE("threads: to_thread runs the callable on another thread with its arguments moved in and "
          "gives its result",
          "[threads]") {
    // py: to_thread runs off the loop's thread: True thread name asyncio_0
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const auto loop_thread = std::this_thread::get_id();
    struct seen {
        std::thread::id id;
        std::string name;
        int sum = 0;
        bool arg_was_moved = false;
    };
    const seen s = asyncio::run(
        [](std::thread::id) -> task<seen> {
            auto owned = std::make_unique<int>(40);
            co_return co_await asyncio::to_thread(
                [](std::unique_ptr<int> p, int two) {
                    seen r;
                    r.id = std::this_thread::get_id();
#if defined(__linux__)
                    char buf[16] = {};
                    ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
                    r.name = buf;
#else
                    r.name = "asyncio_0";
#endif
                    r.sum = *p + two;
                    r.arg_was_moved = p != nullptr;
                    return r;
                },
                std::move(owned), 2);
        }(loop_thread),
        on(sel));
    CHECK(s.id != loop_thread);
    CHECK(s.name == "asyncio_0");
    CHECK(s.sum == 42);
    CHECK(s.arg_was_moved);
}

TEST_CASE("threads: the awaiter of run_in_executor resumes two iterations after the job "
          "completes",
          "[threads]") {
    // py: run_in_executor: the awaiter resumed 2 ticks after the job completed, with 42
    int hops = -1;
    int value = 0;
    asyncio::run(
        [](int* hops_out, int* value_out) -> task<void> {
            asyncio::testing::ticker_state s;
            auto tk = co_await asyncio::testing::start_ticker(&s);
            manual_executor ex;
            auto fut = asyncio::get_running_loop().run_in_executor(&ex, [] { return 42; });
            int done_at = -1;
            auto completer = asyncio::create_task(
                [](manual_executor* e, int* at, asyncio::testing::ticker_state* st) -> task<void> {
                    co_await asyncio::sleep(0s);
                    *at = st->ticks;
                    e->run_pending();
                }(&ex, &done_at, &s));
            *value_out = co_await fut;
            *hops_out = s.ticks - done_at;
            co_await completer;
            co_await asyncio::testing::stop_ticker(&s, tk);
        }(&hops, &value),
        on(selector_kind::epoll, clock_kind::virtual_time));
    CHECK(value == 42);
    CHECK(hops == 2);
}

TEST_CASE("threads: a callable that throws in an executor thread: the exception reaches the "
          "awaiter",
          "[threads]") {
    // py: a job that raises: the awaiter gets ValueError boom
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const std::string what = asyncio::run(
        []() -> task<std::string> {
            try {
                co_await asyncio::to_thread([]() -> int { throw std::invalid_argument("boom"); });
            } catch (const std::invalid_argument& e) {
                co_return e.what();
            }
            co_return "no exception";
        }(),
        on(sel));
    CHECK(what == "boom");
}

TEST_CASE("threads: cancelling the awaiter of a running job does not stop the job", "[threads]") {
    // py: cancelling the awaiter of a running job: CancelledError
    // py: the running job still finished: True
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    gate started;
    gate release;
    std::atomic<bool> finished{false};
    bool got_cancelled = false;
    asyncio::run(
        [](gate* st, gate* rel, std::atomic<bool>* fin, bool* cancelled) -> task<void> {
            auto& loop = asyncio::get_running_loop();
            auto fut = loop.run_in_executor(nullptr, [st, rel, fin] {
                st->release();
                rel->wait();
                fin->store(true);
                return 1;
            });
            co_await asyncio::to_thread([st] { st->wait(); });
            fut.cancel();
            try {
                co_await fut;
            } catch (const asyncio::cancelled_error&) {
                *cancelled = true;
            }
            rel->release();
        }(&started, &release, &finished, &got_cancelled),
        on(sel));
    // asyncio::run joined the default executor: the job ran to its end.
    CHECK(got_cancelled);
    CHECK(finished.load());
}

TEST_CASE("threads: a job cancelled before it started never runs", "[threads]") {
    // py: a job cancelled before it started: ran 0 times
    int ran = 0;
    bool cancelled = false;
    asyncio::run(
        [](int* ran_out, bool* cancelled_out) -> task<void> {
            manual_executor ex;
            auto fut = asyncio::get_running_loop().run_in_executor(&ex, [ran_out] { ++*ran_out; });
            fut.cancel();
            co_await asyncio::sleep(0s); // the future's done callback cancels the job
            ex.run_pending();
            *cancelled_out = fut.cancelled();
        }(&ran, &cancelled),
        on(selector_kind::epoll, clock_kind::virtual_time));
    CHECK(ran == 0);
    CHECK(cancelled);
}

TEST_CASE("threads: a job its executor drops unrun cancels its future", "[threads]") {
    bool cancelled = false;
    asyncio::run(
        [](bool* out) -> task<void> {
            manual_executor ex;
            auto fut = asyncio::get_running_loop().run_in_executor(&ex, [] { return 1; });
            ex.jobs.clear(); // as shutdown(cancel_futures=True) does
            try {
                co_await fut;
            } catch (const asyncio::cancelled_error&) {
                *out = true;
            }
        }(&cancelled),
        on(selector_kind::epoll, clock_kind::virtual_time));
    CHECK(cancelled);
}

TEST_CASE("threads: run_in_executor, call_soon_threadsafe and run_coroutine_threadsafe on a closed "
          "loop throw 'Event loop is closed'",
          "[threads]") {
    // py: run_in_executor on a closed loop: RuntimeError Event loop is closed
    // py: run_coroutine_threadsafe on a closed loop: RuntimeError Event loop is closed
    event_loop loop(clock_kind::virtual_time);
    loop.close();
    manual_executor ex;
    CHECK_THROWS_WITH(loop.run_in_executor(nullptr, [] {}), "Event loop is closed");
    CHECK_THROWS_WITH(loop.run_in_executor(&ex, [] {}), "Event loop is closed");
    CHECK(ex.jobs.empty());
    CHECK_THROWS_WITH(loop.call_soon_threadsafe([] {}), "Event loop is closed");
    bool body_ran = false;
    auto body = [](bool* ran) -> task<int> {
        *ran = true;
        co_return 1;
    };
    std::thread t([&] {
        CHECK_THROWS_WITH(asyncio::run_coroutine_threadsafe(body(&body_ran), loop),
                          "Event loop is closed");
    });
    t.join();
    CHECK_FALSE(body_ran);
}

TEST_CASE("threads: run_coroutine_threadsafe refuses a coroutine created where another loop runs",
          "[threads]") {
    bool refused = false;
    asyncio::run(
        [](bool* out) -> task<void> {
            event_loop other(clock_kind::virtual_time);
            auto body = []() -> task<int> { co_return 1; };
            try {
                // body()'s frame comes from the running loop's arena, not usable by `other`.
                (void)asyncio::run_coroutine_threadsafe(body(), other);
            } catch (const std::invalid_argument&) {
                *out = true;
            }
            co_return;
        }(&refused),
        on(selector_kind::epoll, clock_kind::virtual_time));
    CHECK(refused);
}

TEST_CASE("threads: an executor shut down then used refuses the job", "[threads]") {
    // py: executor shut down then used: RuntimeError cannot schedule new futures after shutdown
    // py: default executor after shutdown_default_executor: RuntimeError Executor shutdown has been
    // called
    asyncio::thread_pool pool(2);
    pool.shutdown();
    CHECK_THROWS_WITH(pool.submit([] {}), "cannot schedule new futures after shutdown");
    std::vector<std::string> errors;
    asyncio::run(
        [](asyncio::thread_pool* p, std::vector<std::string>* out) -> task<void> {
            auto& loop = asyncio::get_running_loop();
            try {
                (void)loop.run_in_executor(p, [] {});
            } catch (const std::runtime_error& e) {
                out->emplace_back(e.what());
            }
            co_await asyncio::to_thread([] {});
            co_await loop.shutdown_default_executor();
            try {
                (void)loop.run_in_executor(nullptr, [] {});
            } catch (const std::runtime_error& e) {
                out->emplace_back(e.what());
            }
            // A refused job leaves nothing behind for the loop to wait for.
            CHECK(loop.core().external_jobs == 0);
        }(&pool, &errors),
        on(selector_kind::epoll, clock_kind::virtual_time));
    CHECK(errors == std::vector<std::string>{"cannot schedule new futures after shutdown",
                                             "Executor shutdown has been called"});
}

TEST_CASE("threads: a loop destroyed while a job still runs drops the job's completion safely",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    REQUIRE(counted::alive.load() == 0);
    SECTION("on an executor that outlives the loop") {
        asyncio::thread_pool pool(1);
        gate started;
        gate release;
        {
            event_loop loop(clock_kind::monotonic, sel);
            auto fut = loop.run_in_executor(&pool, [&] {
                started.release();
                release.wait();
                return counted(7);
            });
            std::thread waiter([&] { started.wait(); });
            waiter.join();
            // The loop and its future go while the job runs.
        }
        release.release();
        pool.shutdown(true); // the job's result is destroyed on the pool's thread
        CHECK(counted::alive.load() == 0);
    }
    SECTION("on the default executor (destroying the loop joins it)") {
        gate started;
        gate release;
        std::optional<std::thread> releaser;
        {
            event_loop loop(clock_kind::monotonic, sel);
            auto fut = loop.run_in_executor(nullptr, [&] {
                started.release();
                release.wait();
                return counted(7);
            });
            started.wait();
            releaser.emplace([&] {
                std::this_thread::sleep_for(20ms);
                release.release();
            });
        }
        releaser->join();
        CHECK(counted::alive.load() == 0);
    }
    SECTION("with the completion already posted but not yet run") {
        asyncio::thread_pool pool(1);
        std::atomic<bool> done{false};
        {
            event_loop loop(clock_kind::monotonic, sel);
            auto fut = loop.run_in_executor(&pool, [&] {
                done.store(true);
                return counted(7);
            });
            while (!done.load()) {
                std::this_thread::sleep_for(1ms);
            }
            pool.shutdown(true); // the completion sits in the loop's remote queue
        }
        CHECK(counted::alive.load() == 0);
    }
}

TEST_CASE("threads: thread_pool starts threads on demand up to max_workers, sized as CPython's by "
          "default",
          "[threads]") {
    // py: default max_workers is min(32, cpus + 4): True
    const std::size_t cpus = std::max(1U, std::thread::hardware_concurrency());
    CHECK(asyncio::thread_pool::default_max_workers() == std::min<std::size_t>(32, cpus + 4));
    CHECK_THROWS_AS(asyncio::thread_pool(0), std::invalid_argument);
    asyncio::thread_pool pool(2);
    CHECK(pool.thread_count() == 0);
    std::atomic<int> ran{0};
    pool.submit([&] { ++ran; });
    while (ran.load() < 1) {
        std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(5ms); // let the thread go idle
    pool.submit([&] { ++ran; });      // an idle thread takes it
    while (ran.load() < 2) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(pool.thread_count() == 1);
    gate release;
    std::atomic<int> started{0};
    for (int i = 0; i < 4; ++i) {
        pool.submit([&] {
            ++started;
            release.wait();
        });
    }
    CHECK(pool.thread_count() == 2);
    release.release();
    pool.shutdown(true);
    CHECK(started.load() == 4);
}

TEST_CASE("threads: run_coroutine_threadsafe from another thread: result with a timeout, cancel",
          "[threads]") {
    // py: run_coroutine_threadsafe from another thread: [3, 'timeout', True, True, 'cancelled']
    // py: run_coroutine_threadsafe cancel(): the task got CancelledError
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    auto add = [](int a, int b) -> task<int> {
        co_await asyncio::sleep(0s);
        co_return a + b;
    };
    bool task_got_cancelled = false;
    auto forever = [](bool* got) -> task<void> {
        try {
            co_await asyncio::sleep(3600s);
        } catch (const asyncio::cancelled_error&) {
            *got = true;
            throw;
        }
    };
    std::vector<std::string> out;
    std::thread other([&] {
        auto f = asyncio::run_coroutine_threadsafe(add(1, 2), loop); // before the loop runs
        out.push_back(std::to_string(f.result(5s)));
        out.push_back(f.done() ? "done" : "pending");
        auto g = asyncio::run_coroutine_threadsafe(forever(&task_got_cancelled), loop);
        try {
            g.result(10ms);
        } catch (const asyncio::timeout_error&) {
            out.emplace_back("timeout");
        }
        out.push_back(g.cancel() ? "True" : "False");
        out.push_back(g.cancelled() ? "True" : "False");
        try {
            g.result();
        } catch (const asyncio::cancelled_error&) {
            out.emplace_back("cancelled");
        }
        out.push_back(g.cancel() ? "True" : "False"); // already done
        std::this_thread::sleep_for(20ms);
        loop.call_soon_threadsafe([&loop] { loop.stop(); });
    });
    loop.run_forever();
    other.join();
    CHECK(out ==
          std::vector<std::string>{"3", "done", "timeout", "True", "True", "cancelled", "False"});
    CHECK(task_got_cancelled);
}

TEST_CASE("threads: run_coroutine_threadsafe reports the coroutine's exception, and a loop "
          "destroyed before the coroutine ran or finished cancels the handle",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    SECTION("exception") {
        event_loop loop(clock_kind::monotonic, sel);
        auto boom = []() -> task<int> {
            co_await asyncio::sleep(0s);
            throw std::logic_error("boom");
        };
        std::exception_ptr seen;
        std::thread other([&] {
            auto f = asyncio::run_coroutine_threadsafe(boom(), loop);
            seen = f.exception(5s);
            loop.call_soon_threadsafe([&loop] { loop.stop(); });
        });
        loop.run_forever();
        other.join();
        REQUIRE(seen);
        CHECK_THROWS_WITH(std::rethrow_exception(seen), "boom");
    }
    SECTION("never ran") {
        bool body_ran = false;
        std::optional<asyncio::concurrent_future<int>> f;
        {
            event_loop loop(clock_kind::monotonic, sel);
            std::thread other([&] {
                f = asyncio::run_coroutine_threadsafe(
                    [](bool* ran) -> task<int> {
                        *ran = true;
                        co_return 1;
                    }(&body_ran),
                    loop);
            });
            other.join();
        }
        CHECK_FALSE(body_ran);
        CHECK(f->cancelled());
        CHECK_THROWS_AS(f->result(), asyncio::cancelled_error);
    }
    SECTION("still running") {
        std::optional<asyncio::concurrent_future<void>> f;
        {
            event_loop loop(clock_kind::monotonic, sel);
            loop.set_exception_handler([](event_loop&, const asyncio::exception_context&) {
            }); // "Task was destroyed but it is pending!" is expected here
            std::thread other([&] {
                f = asyncio::run_coroutine_threadsafe(
                    []() -> task<void> { co_await asyncio::sleep(3600s); }(), loop);
            });
            other.join();
            loop.call_soon([&loop] { loop.call_soon([&loop] { loop.stop(); }); });
            loop.run_forever(); // the task starts and waits for its hour
            CHECK_FALSE(f->done());
        }
        CHECK(f->cancelled());
    }
}

namespace {

std::atomic<int> pool_threads_exited{0};

/// Suspended at its first yield when main ends; its cleanup uses the default executor.
asyncio::async_generator<int> closes_with_to_thread(std::vector<std::string>* log) {
    std::exception_ptr pending;
    try {
        co_yield 1;
        co_yield 2;
    } catch (...) {
        pending = std::current_exception();
    }
    co_await asyncio::to_thread([] {}); // the executor still runs while generators close
    log->emplace_back("generator closed, to_thread ran");
    if (pending) {
        std::rethrow_exception(pending);
    }
}

task<void> marks_pool_thread_main(asyncio::async_generator<int>* gen,
                                  std::vector<std::string>* log) {
    (void)co_await gen->next();
    co_await asyncio::to_thread([] {
        struct on_exit {
            on_exit() = default;
            on_exit(const on_exit&) = delete;
            on_exit& operator=(const on_exit&) = delete;
            ~on_exit() { ++pool_threads_exited; }
        };
        thread_local on_exit marker;
        static_cast<void>(&marker);
    });
    log->emplace_back("main done");
}

} // namespace

TEST_CASE("threads: asyncio::run joins the default executor's threads after closing async "
          "generators",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    pool_threads_exited = 0;
    std::vector<std::string> order;
    auto gen = closes_with_to_thread(&order);
    asyncio::run(marks_pool_thread_main(&gen, &order), on(sel));
    CHECK(order == std::vector<std::string>{"main done", "generator closed, to_thread ran"});
    CHECK(pool_threads_exited.load() == 1); // the pool's thread has exited: it was joined
}

TEST_CASE("threads: asyncio::run keeps the loop running while it joins the default executor",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    // A job still running when main returns calls back into the loop: the loop is not closed yet
    // (shutdown_default_executor comes before close), so the callback runs.
    std::atomic<int> posted{0};
    bool callback_ran = false;
    asyncio::run(
        [](std::atomic<int>* p, bool* ran) -> task<void> {
            auto& loop = asyncio::get_running_loop();
            (void)loop.run_in_executor(nullptr, [&loop, p, ran] {
                std::this_thread::sleep_for(20ms);
                try {
                    loop.call_soon_threadsafe([ran] { *ran = true; });
                    *p = 1;
                } catch (const std::runtime_error&) {
                    *p = 2; // the loop was already closed
                }
            });
            co_return;
        }(&posted, &callback_ran),
        on(sel));
    CHECK(posted.load() == 1);
    CHECK(callback_ran);
}

TEST_CASE("threads: shutdown_default_executor waits for the running jobs without blocking the "
          "loop",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    int iterations_while_joining = 0;
    bool job_done_first = false;
    asyncio::run(
        [](int* its, bool* ordered) -> task<void> {
            auto& loop = asyncio::get_running_loop();
            auto done = std::make_shared<std::atomic<bool>>(false);
            auto fut = loop.run_in_executor(nullptr, [done] {
                std::this_thread::sleep_for(30ms);
                done->store(true);
            });
            bool joining = true;
            std::function<void()> tick = [&] {
                if (joining) {
                    ++*its;
                    loop.call_soon(tick);
                }
            };
            loop.call_soon(tick);
            co_await loop.shutdown_default_executor();
            joining = false;
            *ordered = done->load();
            co_await fut;
            co_await asyncio::sleep(0s); // the last tick sees joining == false
        }(&iterations_while_joining, &job_done_first),
        on(sel));
    CHECK(job_done_first);
    CHECK(iterations_while_joining > 1);
}

TEST_CASE("threads: a virtual-time loop waits for an executor job instead of reporting a "
          "deadlock",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const auto t = asyncio::run(
        []() -> task<std::chrono::nanoseconds> {
            co_await asyncio::to_thread([] { std::this_thread::sleep_for(20ms); });
            co_return asyncio::get_running_loop().time().time_since_epoch();
        }(),
        on(sel, clock_kind::virtual_time));
    CHECK(t == 0s);
}

TEST_CASE("threads: awaiting to_thread of a job sleeping 100 ms uses almost no CPU time",
          "[threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    // Start the pool's thread first: thread creation is not what this measures.
    asyncio::run(
        []() -> task<void> {
            co_await asyncio::to_thread([] {});
            auto& loop = asyncio::get_running_loop();
            const auto cpu = asyncio::testing::process_cpu_time();
            const auto wall = std::chrono::steady_clock::now();
            co_await asyncio::to_thread([] { std::this_thread::sleep_for(100ms); });
            const auto used = asyncio::testing::process_cpu_time() - cpu;
            const auto waited = std::chrono::steady_clock::now() - wall;
            static_cast<void>(loop);
            CHECK(used < 30ms);
            WARN(("waited " +
                  std::to_string(std::chrono::duration<double, std::milli>(waited).count()) +
                  " ms using " +
                  std::to_string(std::chrono::duration<double, std::milli>(used).count()) +
                  " ms of CPU"));
        }(),
        on(sel));
}

TEST_CASE("threads: executor threads start with the loop's signals blocked, and the creating "
          "thread's mask is left as it was",
          "[threads][signals]") {
    sigset_t before;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &before);
    const bool main_blocks_sigint = sigismember(&before, SIGINT) == 1;
    const auto worker_mask = asyncio::run([]() -> task<std::vector<int>> {
        co_return co_await asyncio::to_thread([] {
            sigset_t mine;
            ::pthread_sigmask(SIG_SETMASK, nullptr, &mine);
            std::vector<int> blocked;
            for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGCHLD}) {
                if (sigismember(&mine, s) == 1) {
                    blocked.push_back(s);
                }
            }
            return blocked;
        });
    }());
    sigset_t after;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &after);
    CHECK(worker_mask == std::vector<int>{SIGINT, SIGTERM, SIGUSR1, SIGCHLD});
    CHECK((sigismember(&after, SIGINT) == 1) == main_blocks_sigint);
}
