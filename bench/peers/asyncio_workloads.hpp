// SPDX-License-Identifier: MIT
// W1-W5 of issue 6 on asyncio-cpp, shared by bench/peers/asyncio_peer.cpp and
// bench/peers_bench.cpp. Each returns what its caller checks; the clock is the caller's choice.
#pragma once

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace peers {

inline constexpr std::int64_t w2_tasks = 1000;
inline constexpr std::int64_t w4_max_delay_ns = 50'000'000;
inline constexpr std::uint64_t w4_seed = 42;
inline constexpr int w5_depth = 10'000;
inline constexpr std::ptrdiff_t w3_maxsize = 1024;

/// 0 + 1 + ... + (n - 1): what W1 and W3 must sum to.
inline std::int64_t triangle(std::int64_t n) {
    return n * (n - 1) / 2;
}

inline asyncio::task<std::int64_t> w1_child(std::int64_t i) {
    co_return i;
}

/// W1: spawns n tasks with create_task (asyncio's idiom), each returning its index, gathers the
/// handles and returns the sum.
inline asyncio::task<std::int64_t> w1_spawn_gather(std::int64_t n) {
    std::vector<asyncio::task_handle<std::int64_t>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(asyncio::create_task(w1_child(i)));
    }
    std::vector<std::int64_t> results = co_await asyncio::gather(tasks);
    std::int64_t sum = 0;
    for (std::int64_t v : results) {
        sum += v;
    }
    co_return sum;
}

/// W1 with 3.12's eager_task_factory: each child runs to its end inside create_task (it never
/// suspends), so nothing is scheduled and gather finds every child done.
inline asyncio::task<std::int64_t> w1_spawn_gather_eager(std::int64_t n) {
    asyncio::get_running_loop().set_task_factory(asyncio::eager_task_factory);
    co_return co_await w1_spawn_gather(n);
}

/// W1 through gather's range form over lazy tasks (gather spawns them): the other way to write
/// it, which skips the task handles.
inline asyncio::task<std::int64_t> w1_gather_lazy(std::int64_t n) {
    std::vector<asyncio::task<std::int64_t>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(w1_child(i));
    }
    std::vector<std::int64_t> results = co_await asyncio::gather(tasks);
    std::int64_t sum = 0;
    for (std::int64_t v : results) {
        sum += v;
    }
    co_return sum;
}

inline asyncio::task<> w2_yielder(std::int64_t rounds, std::int64_t* counter) {
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await asyncio::sleep(std::chrono::seconds(0));
    }
    *counter += rounds;
}

/// W2: `tasks` tasks each yield `rounds` times with sleep(0); returns the number of yields.
inline asyncio::task<std::int64_t> w2_yield(std::int64_t tasks, std::int64_t rounds) {
    std::int64_t counter = 0;
    std::vector<asyncio::task<>> children;
    children.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t i = 0; i < tasks; ++i) {
        children.push_back(w2_yielder(rounds, &counter));
    }
    co_await asyncio::gather(children);
    co_return counter;
}

inline asyncio::task<> w3_producer(asyncio::queue<std::int64_t>* q, std::int64_t first,
                                   std::int64_t count) {
    for (std::int64_t i = first; i < first + count; ++i) {
        co_await q->put(i);
    }
}

inline asyncio::task<std::int64_t> w3_consumer(asyncio::queue<std::int64_t>* q,
                                               std::int64_t count) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        sum += co_await q->get();
        q->task_done();
    }
    co_return sum;
}

/// W3: `pairs` producers put the items 0 .. n-1 through a queue of maxsize 1024; `pairs`
/// consumers each take n / pairs of them and mark each done. Main awaits the producers, then
/// joins the queue (a join before every put is in could return whenever the consumers catch up),
/// then gathers the consumers. Returns the sum consumed, or -1 when items are left.
inline asyncio::task<std::int64_t> w3_queue(std::int64_t n, std::int64_t pairs) {
    asyncio::queue<std::int64_t> q(w3_maxsize);
    const std::int64_t per = n / pairs;
    std::vector<asyncio::task_handle<std::int64_t>> consumers;
    std::vector<asyncio::task_handle<>> producers;
    for (std::int64_t c = 0; c < pairs; ++c) {
        consumers.push_back(asyncio::create_task(w3_consumer(&q, per)));
    }
    for (std::int64_t p = 0; p < pairs; ++p) {
        producers.push_back(asyncio::create_task(w3_producer(&q, p * per, per)));
    }
    co_await asyncio::gather(producers);
    co_await q.join();
    std::vector<std::int64_t> sums = co_await asyncio::gather(consumers);
    std::int64_t sum = 0;
    for (std::int64_t s : sums) {
        sum += s;
    }
    co_return q.empty() ? sum : -1;
}

inline asyncio::task<> w4_sleeper(std::int64_t delay_ns, std::int64_t* fired) {
    co_await asyncio::sleep(std::chrono::nanoseconds(delay_ns));
    ++*fired;
}

/// W4: n tasks each sleep a delay drawn from [0, 50 ms) by a generator seeded with w4_seed,
/// gathered; returns how many woke up.
inline asyncio::task<std::int64_t> w4_random_sleeps(std::int64_t n) {
    std::mt19937_64 rng(w4_seed);
    std::uniform_int_distribution<std::int64_t> delay(0, w4_max_delay_ns - 1);
    std::int64_t fired = 0;
    std::vector<asyncio::task<>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(w4_sleeper(delay(rng), &fired));
    }
    co_await asyncio::gather(tasks);
    co_return fired;
}

/// W5's coroutine: awaits itself `depth` times (inline awaits, symmetric transfer).
inline asyncio::task<int> w5_chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await w5_chain(depth - 1);
}

/// W5: `reps` chains of w5_depth levels; returns the levels counted in all.
inline asyncio::task<std::int64_t> w5_chains(std::int64_t reps) {
    std::int64_t levels = 0;
    for (std::int64_t r = 0; r < reps; ++r) {
        levels += co_await w5_chain(w5_depth);
    }
    co_return levels;
}

/// W2 with an idle socket registered on the loop (add_reader): every iteration then polls the
/// selector, which is what an I/O program pays per iteration (issue 12 measures it).
inline asyncio::task<std::int64_t> w2_yield_with_fd(std::int64_t tasks, std::int64_t rounds) {
    auto [a, b] = asyncio::socket::pair();
    auto& loop = asyncio::get_running_loop();
    loop.add_reader(a.fileno(), [] {});
    const std::int64_t yields = co_await w2_yield(tasks, rounds);
    loop.remove_reader(a.fileno());
    co_return yields;
}

/// W6's echo side: reads one byte and sends it back, `n` times.
inline asyncio::task<> w6_echo(const asyncio::socket& s, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        std::string b = co_await asyncio::sock_recv(s, 1);
        if (b.size() != 1) {
            throw std::runtime_error("W6: peer closed early");
        }
        co_await asyncio::sock_sendall(s, b);
    }
}

/// W6: a socketpair ping-pong, one byte each way, `n` round trips (sock_sendall + sock_recv on
/// both sides); returns the round trips counted.
inline asyncio::task<std::int64_t> w6_ping_pong(std::int64_t n) {
    auto [a, b] = asyncio::socket::pair();
    auto echo = asyncio::create_task(w6_echo(b, n));
    std::int64_t trips = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        co_await asyncio::sock_sendall(a, std::string_view("x"));
        std::string r = co_await asyncio::sock_recv(a, 1);
        trips += r == "x" ? 1 : 0;
    }
    co_await echo;
    co_return trips;
}

} // namespace peers
