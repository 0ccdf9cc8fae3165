// SPDX-License-Identifier: MIT
// Signals: loop.add_signal_handler / remove_signal_handler on both selectors, and asyncio::run
// turning the first SIGINT into the main task's cancellation and then keyboard_interrupt.
//
// Python observations quoted below are printed by tests/py/signals.py (CPython 3.13.0); the CTest
// case asyncio.py.signals checks that it still prints them (tests/py/signals.expected). Every test
// that changes a disposition puts the previous one back (disposition_guard), so the Catch2 binary
// run whole is unaffected.

#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;
using asyncio::clock_kind;
using asyncio::event_loop;
using asyncio::selector_kind;

namespace {

void run_once(event_loop& loop) {
    loop.stop();
    loop.run_forever();
}

selector_kind any_selector() {
    return GENERATE(selector_kind::epoll, selector_kind::poll);
}

const char* name_of(selector_kind k) {
    return k == selector_kind::epoll ? "epoll" : "poll";
}

/// Saves a signal's disposition and puts it back at the end of the test.
class disposition_guard {
public:
    explicit disposition_guard(int signum) : signum_(signum) {
        REQUIRE(::sigaction(signum, nullptr, &saved_) == 0);
    }
    disposition_guard(const disposition_guard&) = delete;
    disposition_guard& operator=(const disposition_guard&) = delete;
    ~disposition_guard() { ::sigaction(signum_, &saved_, nullptr); }

    /// Sets SIG_DFL for the rest of the test (Catch2 installs its own SIGINT handler).
    void set_default() const {
        struct sigaction sa{};
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        REQUIRE(::sigaction(signum_, &sa, nullptr) == 0);
    }

private:
    int signum_;
    struct sigaction saved_{};
};

bool is_default(int signum) {
    struct sigaction cur{};
    if (::sigaction(signum, nullptr, &cur) != 0) {
        return false;
    }
    return (cur.sa_flags & SA_SIGINFO) == 0 && cur.sa_handler == SIG_DFL;
}

template <class F> std::string invalid_argument_of(F f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "<no invalid_argument>";
}

template <class F> std::string runtime_error_of(F f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<no runtime_error>";
}

} // namespace

TEST_CASE("signals: a handler runs in the loop's iteration after the signal arrives", "[signals]") {
    // py: EpollSelector per iteration [['raise', 'after raise'], [], ['handler'], []]
    // (PollSelector the same): CPython's self-pipe reader is itself a callback, one hop more.
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    disposition_guard usr1(SIGUSR1);
    event_loop loop(clock_kind::monotonic, sel);
    std::vector<std::string> log;
    loop.add_signal_handler(SIGUSR1, [&] { log.emplace_back("handler"); });
    loop.call_soon([&] {
        log.emplace_back("raise");
        ::raise(SIGUSR1);
        log.emplace_back("after raise");
    });
    std::vector<std::vector<std::string>> per_iteration;
    for (int i = 0; i < 3; ++i) {
        const std::size_t before = log.size();
        run_once(loop);
        per_iteration.emplace_back(log.begin() + static_cast<std::ptrdiff_t>(before), log.end());
    }
    CHECK(per_iteration ==
          std::vector<std::vector<std::string>>{{"raise", "after raise"}, {"handler"}, {}});
}

TEST_CASE("signals: a signal from another thread wakes a loop blocked in its selector",
          "[signals]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    disposition_guard usr1(SIGUSR1);
    event_loop loop(clock_kind::monotonic, sel);
    bool handled = false;
    bool gave_up = false;
    loop.add_signal_handler(SIGUSR1, [&] {
        handled = true;
        loop.stop();
    });
    // Only a bound against a hang: the loop would otherwise wait in its selector until then.
    loop.call_later(30s, [&] {
        gave_up = true;
        loop.stop();
    });
    std::thread sender([] {
        std::this_thread::sleep_for(20ms);
        ::kill(::getpid(), SIGUSR1);
    });
    loop.run_forever();
    sender.join();
    CHECK(handled);
    CHECK_FALSE(gave_up);
}

TEST_CASE("signals: two signals before the loop iterates run the handler once", "[signals]") {
    // py: two signals before the loop iterates: handler runs 2
    // asyncio-cpp keeps one flag per signal, as the kernel does for a pending standard signal.
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    disposition_guard usr1(SIGUSR1);
    event_loop loop(clock_kind::monotonic, sel);
    int runs = 0;
    loop.add_signal_handler(SIGUSR1, [&] { ++runs; });
    ::raise(SIGUSR1);
    ::raise(SIGUSR1);
    for (int i = 0; i < 3; ++i) {
        run_once(loop);
    }
    CHECK(runs == 1);
}

TEST_CASE("signals: remove_signal_handler returns true, then false, and restores SIG_DFL",
          "[signals]") {
    // py: handler installed: disposition is not SIG_DFL True
    // py: remove_signal_handler True False
    // py: after removal SIGUSR1 is SIG_DFL True
    disposition_guard usr1(SIGUSR1);
    usr1.set_default();
    event_loop loop;
    int runs = 0;
    loop.add_signal_handler(SIGUSR1, [&] { ++runs; });
    CHECK_FALSE(is_default(SIGUSR1));
    CHECK(loop.remove_signal_handler(SIGUSR1));
    CHECK_FALSE(loop.remove_signal_handler(SIGUSR1));
    CHECK(is_default(SIGUSR1));
    CHECK_FALSE(loop.remove_signal_handler(SIGUSR2));
}

TEST_CASE("signals: a second add_signal_handler for a signal replaces the handler", "[signals]") {
    disposition_guard usr1(SIGUSR1);
    event_loop loop;
    std::vector<std::string> log;
    loop.add_signal_handler(SIGUSR1, [&] { log.emplace_back("first"); });
    loop.add_signal_handler(SIGUSR1, [&] { log.emplace_back("second"); });
    ::raise(SIGUSR1);
    run_once(loop);
    CHECK(log == std::vector<std::string>{"second"});
}

TEST_CASE("signals: a handler may remove itself while it runs", "[signals]") {
    disposition_guard usr1(SIGUSR1);
    usr1.set_default();
    event_loop loop;
    int runs = 0;
    bool removed = false;
    loop.add_signal_handler(SIGUSR1, [&] {
        ++runs;
        removed = loop.remove_signal_handler(SIGUSR1);
    });
    ::raise(SIGUSR1);
    run_once(loop);
    run_once(loop);
    CHECK(runs == 1);
    CHECK(removed);
    CHECK(is_default(SIGUSR1));
}

TEST_CASE("signals: an invalid signal number throws invalid_argument, SIGKILL and SIGSTOP "
          "runtime_error",
          "[signals]") {
    // py: add 0 ValueError invalid signal number 0
    // py: add -1 ValueError invalid signal number -1
    // py: add 65 ValueError invalid signal number 65
    // py: add 32 ValueError invalid signal number 32
    // py: remove 0 ValueError invalid signal number 0
    // py: add SIGKILL RuntimeError sig 9 cannot be caught
    // py: add SIGSTOP RuntimeError sig 19 cannot be caught
    event_loop loop;
    for (int sig : {0, -1, NSIG, 32}) {
        CHECK(invalid_argument_of([&] { loop.add_signal_handler(sig, [] {}); }) ==
              "invalid signal number " + std::to_string(sig));
    }
    CHECK(invalid_argument_of([&] { loop.remove_signal_handler(0); }) == "invalid signal number 0");
    CHECK(invalid_argument_of([&] { loop.remove_signal_handler(NSIG); }) ==
          "invalid signal number " + std::to_string(NSIG));
    CHECK(runtime_error_of([&] { loop.add_signal_handler(SIGKILL, [] {}); }) ==
          "sig " + std::to_string(SIGKILL) + " cannot be caught");
    CHECK(runtime_error_of([&] { loop.add_signal_handler(SIGSTOP, [] {}); }) ==
          "sig " + std::to_string(SIGSTOP) + " cannot be caught");
    CHECK_FALSE(loop.remove_signal_handler(SIGKILL));
}

TEST_CASE("signals: close() removes the handlers, and a closed loop refuses new ones",
          "[signals]") {
    // py: close removes handlers: SIGUSR2 is SIG_DFL True
    // py: closed loop: add RuntimeError Event loop is closed
    // py: closed loop: add bad sig ValueError invalid signal number 0
    // py: closed loop: remove -> False
    disposition_guard usr2(SIGUSR2);
    usr2.set_default();
    event_loop loop;
    loop.add_signal_handler(SIGUSR2, [] {});
    CHECK_FALSE(is_default(SIGUSR2));
    loop.close();
    CHECK(is_default(SIGUSR2));
    CHECK(runtime_error_of([&] { loop.add_signal_handler(SIGUSR1, [] {}); }) ==
          "Event loop is closed");
    CHECK(invalid_argument_of([&] { loop.add_signal_handler(0, [] {}); }) ==
          "invalid signal number 0");
    CHECK_FALSE(loop.remove_signal_handler(SIGUSR1));
}

TEST_CASE("signals: a loop's destruction removes its handlers", "[signals]") {
    disposition_guard usr2(SIGUSR2);
    usr2.set_default();
    {
        event_loop loop;
        loop.add_signal_handler(SIGUSR2, [] {});
        CHECK_FALSE(is_default(SIGUSR2));
    }
    CHECK(is_default(SIGUSR2));
}

TEST_CASE("signals: a handler that throws is reported as \"Exception in callback\"", "[signals]") {
    // py: a throwing handler is reported: [(['Exception', 'in', 'callback'], 'ValueError')]
    disposition_guard usr1(SIGUSR1);
    event_loop loop;
    std::vector<std::string> seen;
    loop.set_exception_handler([&](event_loop&, const asyncio::exception_context& ctx) {
        seen.push_back(ctx.message + ": " + asyncio::testing::what_of(ctx.exception));
    });
    loop.add_signal_handler(SIGUSR1, [] { throw std::invalid_argument("boom"); });
    ::raise(SIGUSR1);
    run_once(loop);
    run_once(loop);
    CHECK(seen == std::vector<std::string>{"Exception in callback: boom"});
}

TEST_CASE("signals: a signal belongs to one loop at a time", "[signals]") {
    disposition_guard usr1(SIGUSR1);
    event_loop a;
    event_loop b;
    a.add_signal_handler(SIGUSR1, [] {});
    CHECK(runtime_error_of([&] { b.add_signal_handler(SIGUSR1, [] {}); }) ==
          "sig " + std::to_string(SIGUSR1) + " is handled by another event loop");
    CHECK(a.remove_signal_handler(SIGUSR1));
    int runs = 0;
    b.add_signal_handler(SIGUSR1, [&] { ++runs; });
    ::raise(SIGUSR1);
    run_once(b);
    CHECK(runs == 1);
}

TEST_CASE("signals: a loop on another thread may handle a signal (CPython refuses it)",
          "[signals]") {
    // py: add_signal_handler off the main thread: RuntimeError set_wakeup_fd only works in main
    // thread of the main interpreter
    disposition_guard usr1(SIGUSR1);
    int runs = 0;
    std::thread t([&] {
        event_loop loop;
        loop.add_signal_handler(SIGUSR1, [&] {
            ++runs;
            loop.stop();
        });
        loop.call_later(30s, [&] { loop.stop(); }); // a bound against a hang only
        ::kill(::getpid(), SIGUSR1);
        loop.run_forever();
    });
    t.join();
    CHECK(runs == 1);
}

TEST_CASE("signals: block_loop_signals blocks the usual signals and every handled one in the "
          "calling thread",
          "[signals]") {
    const int rt = SIGRTMIN + 2;
    disposition_guard guard_rt(rt);
    event_loop loop;
    loop.add_signal_handler(rt, [] {});
    sigset_t blocked;
    sigemptyset(&blocked);
    std::thread t([&] {
        static_cast<void>(asyncio::detail::block_loop_signals());
        pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
    });
    t.join();
    CHECK(sigismember(&blocked, SIGINT) == 1);
    CHECK(sigismember(&blocked, SIGTERM) == 1);
    CHECK(sigismember(&blocked, SIGUSR1) == 1);
    CHECK(sigismember(&blocked, rt) == 1);
    CHECK(sigismember(&blocked, SIGSEGV) == 0);
    CHECK(sigismember(&blocked, SIGPIPE) == 0);
}

TEST_CASE("signals: a virtual-time loop with only a signal handler still reports a deadlock",
          "[signals]") {
    disposition_guard usr1(SIGUSR1);
    event_loop loop(clock_kind::virtual_time);
    loop.add_signal_handler(SIGUSR1, [] {});
    CHECK_THROWS_WITH(loop.run_forever(), Catch::Contains("deadlock"));
}

// --- asyncio::run and SIGINT ---------------------------------------------------------------------

static_assert(!std::is_base_of_v<std::exception, asyncio::keyboard_interrupt>,
              "catch (const std::exception&) must not swallow keyboard_interrupt");

namespace {

asyncio::task<int> sleeps_until_interrupted(std::vector<std::string>* log, bool from_thread) {
    std::thread sender;
    if (from_thread) {
        sender = std::thread([] {
            std::this_thread::sleep_for(20ms);
            ::kill(::getpid(), SIGINT);
        });
    } else {
        asyncio::get_running_loop().call_later(20ms, [] { ::raise(SIGINT); });
    }
    struct joiner {
        std::thread& t;
        ~joiner() {
            if (t.joinable()) {
                t.join();
            }
        }
    } join{sender};
    try {
        co_await asyncio::sleep(10s);
        log->emplace_back("sleep finished");
    } catch (const asyncio::cancelled_error&) {
        log->emplace_back("main sees CancelledError");
        // A second Ctrl-C now would kill the process (CPython raises KeyboardInterrupt at once).
        if (is_default(SIGINT)) {
            log->emplace_back("SIGINT is SIG_DFL again");
        }
        log->emplace_back("main cleanup runs");
        throw;
    }
    co_return 1;
}

} // namespace

TEST_CASE("signals: the first SIGINT in asyncio::run cancels the main task, then run throws "
          "keyboard_interrupt",
          "[signals]") {
    // py: asyncio.run + SIGINT: ['main sees CancelledError', 'main cleanup runs',
    // 'run raises KeyboardInterrupt']
    // py: after run SIGINT is default_int_handler True
    const bool from_thread = GENERATE(false, true);
    INFO((from_thread ? "kill() from a thread" : "raise() from a loop timer"));
    disposition_guard sigint(SIGINT);
    sigint.set_default();
    std::vector<std::string> log;
    try {
        static_cast<void>(asyncio::run(sleeps_until_interrupted(&log, from_thread)));
        log.emplace_back("run returned");
    } catch (const asyncio::keyboard_interrupt&) {
        log.emplace_back("run raises KeyboardInterrupt");
    }
    CHECK(log == std::vector<std::string>{"main sees CancelledError", "SIGINT is SIG_DFL again",
                                          "main cleanup runs", "run raises KeyboardInterrupt"});
    CHECK(is_default(SIGINT));
}

TEST_CASE("signals: a main task that swallows the SIGINT cancellation makes run return its value",
          "[signals]") {
    // py: main swallows the cancellation: run returns swallowed
    disposition_guard sigint(SIGINT);
    sigint.set_default();
    auto body = []() -> asyncio::task<std::string> {
        asyncio::get_running_loop().call_later(20ms, [] { ::raise(SIGINT); });
        bool cancelled = false;
        try {
            co_await asyncio::sleep(10s);
        } catch (const asyncio::cancelled_error&) {
            cancelled = true;
        }
        co_return cancelled ? "swallowed" : "slept";
    };
    CHECK(asyncio::run(body()) == "swallowed");
    CHECK(is_default(SIGINT));
}

namespace {
volatile sig_atomic_t user_sigints = 0;
void count_sigint(int) {
    user_sigints = user_sigints + 1;
}
} // namespace

TEST_CASE("signals: asyncio::run leaves a SIGINT handler it did not install alone", "[signals]") {
    // py: SIGINT not default: run returns finished
    disposition_guard sigint(SIGINT);
    struct sigaction sa{};
    sa.sa_handler = &count_sigint;
    sigemptyset(&sa.sa_mask);
    REQUIRE(::sigaction(SIGINT, &sa, nullptr) == 0);
    user_sigints = 0;
    auto body = []() -> asyncio::task<std::string> {
        ::raise(SIGINT);
        co_await asyncio::sleep(50ms);
        co_return "finished";
    };
    CHECK(asyncio::run(body()) == "finished");
    CHECK(user_sigints == 1);
    struct sigaction cur{};
    REQUIRE(::sigaction(SIGINT, nullptr, &cur) == 0);
    CHECK(cur.sa_handler == &count_sigint);
}

TEST_CASE("signals: asyncio::run off the main thread does not handle SIGINT", "[signals]") {
    disposition_guard sigint(SIGINT);
    sigint.set_default();
    bool was_default = false;
    std::thread t([&] {
        asyncio::run([&]() -> asyncio::task<void> {
            was_default = is_default(SIGINT);
            co_return;
        }());
    });
    t.join();
    CHECK(was_default);
}
