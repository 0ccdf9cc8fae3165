// SPDX-License-Identifier: MIT
// The loop's I/O side: descriptor callbacks, where they run in an iteration, blocking on the real
// clock, the virtual clock with descriptors, call_soon_threadsafe, close(), on both selectors.
//
// Python observations quoted below are printed by tests/py/io_loop.py (CPython 3.13.0); the CTest
// case asyncio.py.io_loop checks that it still prints them (tests/py/io_loop.expected).

#include "support/io_support.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using asyncio::clock_kind;
using asyncio::event_loop;
using asyncio::selector_kind;
using asyncio::testing::socket_pair;

namespace {

void run_once(event_loop& loop) {
    loop.stop();
    loop.run_forever();
}

void send_byte(int fd) {
    const char c = 'x';
    REQUIRE(::send(fd, &c, 1, 0) == 1);
}

selector_kind any_selector() {
    return GENERATE(selector_kind::epoll, selector_kind::poll);
}

const char* name_of(selector_kind k) {
    return k == selector_kind::epoll ? "epoll" : "poll";
}

} // namespace

TEST_CASE("io loop: a loop polls the selector its option names", "[io]") {
    CHECK(event_loop().selector() == selector_kind::epoll);
    CHECK(event_loop(clock_kind::monotonic, selector_kind::poll).selector() == selector_kind::poll);
    CHECK(event_loop(clock_kind::virtual_time, selector_kind::epoll).selector() ==
          selector_kind::epoll);
}

TEST_CASE("io loop: ready descriptors' callbacks run after what was ready and before the due "
          "timers of the same iteration",
          "[io]") {
    // py: EpollSelector one iteration ran ['soon', 'reader', 'timer'] (and PollSelector the same)
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    socket_pair p;
    send_byte(p.b);
    std::vector<std::string> log;
    loop.call_later(0s, [&] { log.emplace_back("timer"); });
    loop.add_reader(p.a, [&] {
        log.emplace_back("reader");
        loop.remove_reader(p.a);
    });
    loop.call_soon([&] { log.emplace_back("soon"); });
    run_once(loop);
    CHECK(log == std::vector<std::string>{"soon", "reader", "timer"});
}

TEST_CASE("io loop: a reader runs in every iteration while its descriptor is readable, a second "
          "add_reader replaces it, remove_reader says whether one was registered",
          "[io]") {
    // py: EpollSelector reader runs before data 0 after 3 iterations 3 replaced runs 1
    //     remove_reader True False
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    socket_pair p;
    int runs = 0;
    loop.add_reader(p.a, [&] { ++runs; });
    run_once(loop);
    const int before = runs;
    send_byte(p.b);
    for (int i = 0; i < 3; ++i) {
        run_once(loop);
    }
    int replaced = 0;
    loop.add_reader(p.a, [&] { ++replaced; });
    run_once(loop);
    const bool first = loop.remove_reader(p.a);
    const bool second = loop.remove_reader(p.a);
    run_once(loop);
    CHECK(before == 0);
    CHECK(runs == 3);
    CHECK(replaced == 1);
    CHECK(first);
    CHECK(!second);
}

TEST_CASE("io loop: a writer runs while its descriptor is writable, beside a reader of the same "
          "descriptor",
          "[io]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    socket_pair p;
    std::vector<std::string> log;
    loop.add_writer(p.a, [&] { log.emplace_back("writer"); });
    loop.add_reader(p.a, [&] { log.emplace_back("reader"); });
    run_once(loop); // writable only
    send_byte(p.b);
    run_once(loop); // readable and writable: reader first, as CPython's _process_events
    CHECK(loop.remove_writer(p.a));
    run_once(loop); // readable only
    CHECK(loop.remove_reader(p.a));
    CHECK(!loop.remove_writer(p.a));
    CHECK(log == std::vector<std::string>{"writer", "reader", "writer", "reader"});
}

TEST_CASE("io loop: a hang-up of the peer wakes the reader (it then reads end of file)", "[io]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    socket_pair p;
    long got = -1;
    loop.add_reader(p.a, [&] {
        char buf[8];
        got = ::recv(p.a, buf, sizeof buf, 0);
        loop.remove_reader(p.a);
        loop.stop();
    });
    loop.call_later(10ms, [&] { p.close_b(); });
    loop.run_forever();
    CHECK(got == 0);
}

TEST_CASE("io loop: a callback that removes its own registration, or another one's, is safe",
          "[io]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    socket_pair p;
    socket_pair q;
    send_byte(p.b);
    send_byte(q.b);
    std::vector<std::string> log;
    // Both are readable in the same iteration: whichever runs first removes the other, whose
    // queued run must then not happen (CPython cancels its handle).
    loop.add_reader(p.a, [&] {
        log.emplace_back("p");
        loop.remove_reader(q.a);
        loop.remove_reader(p.a);
    });
    loop.add_reader(q.a, [&] {
        log.emplace_back("q");
        loop.remove_reader(p.a);
        loop.remove_reader(q.a);
    });
    run_once(loop);
    run_once(loop);
    REQUIRE(log.size() == 1);
}

TEST_CASE("io loop: add_reader refuses a negative descriptor with invalid_argument and a closed "
          "one with EBADF",
          "[io]") {
    // py: EpollSelector add_reader(-1): ValueError Invalid file descriptor: -1
    // py: EpollSelector add_reader(closed fd): OSError 9
    // py: PollSelector add_reader(closed fd): accepted  (deliberate difference: both backends
    //     refuse it here, so that the error comes at once on either)
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    REQUIRE_THROWS_MATCHES(loop.add_reader(-1, [] {}), std::invalid_argument,
                           Catch::Message("Invalid file descriptor: -1"));
    int fd = -1;
    {
        socket_pair p;
        fd = p.a;
    }
    try {
        loop.add_reader(fd, [] {});
        FAIL("add_reader of a closed descriptor was accepted");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::bad_file_descriptor);
    }
    CHECK(!loop.remove_reader(fd));
}

TEST_CASE("io loop: a closed loop refuses new work with 'Event loop is closed', and a running "
          "loop cannot be closed",
          "[io]") {
    // py: closed loop: call_soon RuntimeError Event loop is closed (and call_later,
    //     call_soon_threadsafe, add_reader, run_forever); closed loop: remove_reader False
    // py: close while running: RuntimeError Cannot close a running event loop
    // py: close twice: ok, is_closed True
    event_loop loop;
    bool ran = false;
    loop.call_soon([&] { ran = true; });
    loop.close();
    CHECK(!ran);
    CHECK(loop.is_closed());
    const auto closed = Catch::Message("Event loop is closed");
    CHECK_THROWS_MATCHES(loop.call_soon([] {}), std::runtime_error, closed);
    CHECK_THROWS_MATCHES(loop.call_later(1s, [] {}), std::runtime_error, closed);
    CHECK_THROWS_MATCHES(loop.call_soon_threadsafe([] {}), std::runtime_error, closed);
    CHECK_THROWS_MATCHES(loop.add_reader(0, [] {}), std::runtime_error, closed);
    CHECK_THROWS_MATCHES(loop.run_forever(), std::runtime_error, closed);
    CHECK_THROWS_MATCHES(loop.create_task([]() -> asyncio::task<> { co_return; }()),
                         std::runtime_error, closed);
    CHECK(!loop.remove_reader(0));

    event_loop other;
    std::string message;
    other.call_soon([&] {
        try {
            other.close();
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
        other.stop();
    });
    other.run_forever();
    CHECK(message == "Cannot close a running event loop");
    other.close();
    other.close();
    CHECK(other.is_closed());
}

TEST_CASE("io loop: closing or destroying a loop drops its registrations and callbacks posted "
          "from other threads, and closes its own descriptors",
          "[io]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int before = asyncio::testing::open_fd_count();
    asyncio::testing::lifetime_scope scope;
    {
        socket_pair p;
        event_loop loop(clock_kind::monotonic, sel);
        CHECK(asyncio::testing::open_fd_count() > before + 2);
        loop.add_reader(p.a, [t = asyncio::testing::tracked(1)] {});
        loop.add_writer(p.a, [t = asyncio::testing::tracked(2)] {});
        std::thread([&loop] {
            loop.call_soon_threadsafe([t = asyncio::testing::tracked(3)] {});
        }).join();
        CHECK(asyncio::testing::lifetime_counter::alive() == 3);
        if (sel == selector_kind::poll) {
            loop.close();
            CHECK(asyncio::testing::lifetime_counter::alive() == 0);
        }
    }
    CHECK(scope.balanced());
    CHECK(asyncio::testing::open_fd_count() == before);
}

TEST_CASE("io loop: with nothing to do, a real-clock loop waits (as CPython's) until another "
          "thread calls call_soon_threadsafe",
          "[io][threads]") {
    // py: call_soon_threadsafe woke a loop with nothing to do
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    std::atomic<bool> called{false};
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        called = true;
        loop.call_soon_threadsafe([&loop] { loop.stop(); });
    });
    loop.run_forever();
    t.join();
    CHECK(called.load());
}

TEST_CASE("io loop: call_soon_threadsafe from many threads runs every callback once, each "
          "thread's in its own order",
          "[io][threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    std::vector<std::vector<int>> seen(threads);
    int total = 0;
    auto fut = loop.create_future<void>();
    std::vector<std::thread> ts;
    for (int k = 0; k < threads; ++k) {
        ts.emplace_back([&, k] {
            for (int i = 0; i < per_thread; ++i) {
                loop.call_soon_threadsafe([&, k, i] {
                    seen[static_cast<std::size_t>(k)].push_back(i);
                    if (++total == threads * per_thread) {
                        fut.set_result();
                    }
                });
            }
        });
    }
    loop.run_until_complete(fut);
    for (auto& t : ts) {
        t.join();
    }
    for (const auto& s : seen) {
        REQUIRE(s.size() == per_thread);
        for (int i = 0; i < per_thread; ++i) {
            REQUIRE(s[static_cast<std::size_t>(i)] == i);
        }
    }
}

TEST_CASE("io loop: call_soon_threadsafe from the loop's own thread runs in the next iteration, "
          "after what call_soon queued before it",
          "[io]") {
    event_loop loop(clock_kind::virtual_time);
    std::vector<std::string> log;
    loop.call_soon([&] {
        loop.call_soon([&] { log.emplace_back("soon"); });
        loop.call_soon_threadsafe([&] { log.emplace_back("threadsafe"); });
    });
    run_once(loop);
    CHECK(log.empty());
    run_once(loop);
    CHECK(log == std::vector<std::string>{"soon", "threadsafe"});
}

TEST_CASE("io loop: a virtual-time loop with a descriptor registered polls it without blocking, "
          "then jumps to the next deadline",
          "[io]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::virtual_time, sel);
    socket_pair p;
    std::vector<std::pair<std::string, double>> log;
    const auto now = [&] {
        return std::chrono::duration<double>(loop.time().time_since_epoch()).count();
    };
    loop.add_reader(p.a, [&] {
        char c;
        REQUIRE(::recv(p.a, &c, 1, 0) == 1);
        log.emplace_back("read", now());
    });
    loop.call_later(10s, [&] {
        log.emplace_back("write", now());
        send_byte(p.b);
    });
    loop.call_later(20s, [&] {
        log.emplace_back("stop", now());
        loop.stop();
    });
    const auto cpu = asyncio::testing::process_cpu_time();
    loop.run_forever();
    CHECK(asyncio::testing::process_cpu_time() - cpu < 1s); // never waited out 20 s of timers
    CHECK(log == std::vector<std::pair<std::string, double>>{
                     {"write", 10.0}, {"read", 10.0}, {"stop", 20.0}});
    loop.remove_reader(p.a);
}

TEST_CASE("io loop: a virtual-time loop whose only hope is a descriptor waits for it instead of "
          "reporting a deadlock",
          "[io][threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::virtual_time, sel);
    socket_pair p;
    bool read = false;
    loop.add_reader(p.a, [&] {
        char c;
        read = ::recv(p.a, &c, 1, 0) == 1;
        loop.remove_reader(p.a);
        loop.stop();
    });
    std::thread t([&] {
        std::this_thread::sleep_for(10ms);
        send_byte(p.b);
    });
    loop.run_forever();
    t.join();
    CHECK(read);
    CHECK(loop.time().time_since_epoch() == 0s);
}

TEST_CASE("io loop: a future set from another thread after 100 ms is awaited with almost no CPU "
          "time",
          "[io][threads]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    event_loop loop(clock_kind::monotonic, sel);
    auto fut = loop.create_future<int>();
    const auto cpu = asyncio::testing::process_cpu_time();
    const auto wall = std::chrono::steady_clock::now();
    std::thread t([&] {
        std::this_thread::sleep_for(100ms);
        loop.call_soon_threadsafe([&fut] { fut.set_result(42); });
    });
    const int v = loop.run_until_complete(fut);
    t.join();
    const auto used = asyncio::testing::process_cpu_time() - cpu;
    const auto waited = std::chrono::steady_clock::now() - wall;
    CHECK(v == 42);
    CHECK(used < 30ms);
    WARN(("waited " + std::to_string(std::chrono::duration<double, std::milli>(waited).count()) +
          " ms using " + std::to_string(std::chrono::duration<double, std::milli>(used).count()) +
          " ms of CPU"));
}
