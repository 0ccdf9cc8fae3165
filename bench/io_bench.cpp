// SPDX-License-Identifier: MIT
// Benchmarks of the loop's I/O side: a socketpair ping-pong through sock_sendall/sock_recv (W6 of
// bench/peers, whose compare.sh runs the same on asio and uvloop), and sleep(0) switching with an
// idle descriptor registered (the cost of polling the selector in every iteration).
#include <asyncio/asyncio.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

asyncio::task<> echo(const asyncio::socket& s, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        std::string b = co_await asyncio::sock_recv(s, 1);
        co_await asyncio::sock_sendall(s, b);
    }
}

// One byte each way, n round trips; returns the round trips that came back intact.
asyncio::task<std::int64_t> ping_pong(std::int64_t n) {
    auto [a, b] = asyncio::socket::pair();
    auto peer = asyncio::create_task(echo(b, n));
    std::int64_t trips = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        co_await asyncio::sock_sendall(a, std::string_view("x"));
        trips += (co_await asyncio::sock_recv(a, 1)) == "x" ? 1 : 0;
    }
    co_await peer;
    co_return trips;
}

void BM_io_socketpair_ping_pong(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    const auto sel = static_cast<asyncio::selector_kind>(state.range(1));
    asyncio::event_loop loop(asyncio::clock_kind::monotonic, sel);
    for ([[maybe_unused]] auto _ : state) {
        if (loop.run_until_complete(ping_pong(n)) != n) {
            state.SkipWithError("a round trip was lost");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.SetLabel(sel == asyncio::selector_kind::epoll ? "epoll" : "poll");
}
BENCHMARK(BM_io_socketpair_ping_pong)
    ->Args({10'000, static_cast<std::int64_t>(asyncio::selector_kind::epoll)})
    ->Args({10'000, static_cast<std::int64_t>(asyncio::selector_kind::poll)})
    ->UseRealTime();

asyncio::task<> yielder(std::int64_t rounds) {
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await asyncio::sleep(std::chrono::seconds(0));
    }
}

// W2's shape with a descriptor registered (range(2) != 0) or not: every iteration then polls.
asyncio::task<> switching(std::int64_t tasks, std::int64_t rounds, bool with_fd) {
    auto [a, b] = asyncio::socket::pair();
    auto& loop = asyncio::get_running_loop();
    if (with_fd) {
        loop.add_reader(a.fileno(), [] {});
    }
    std::vector<asyncio::task<>> children;
    children.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t i = 0; i < tasks; ++i) {
        children.push_back(yielder(rounds));
    }
    co_await asyncio::gather(children);
    loop.remove_reader(a.fileno());
}

void BM_io_sleep0_with_descriptor(benchmark::State& state) {
    const std::int64_t tasks = state.range(0);
    const std::int64_t rounds = state.range(1);
    asyncio::event_loop loop(asyncio::clock_kind::monotonic);
    for ([[maybe_unused]] auto _ : state) {
        loop.run_until_complete(switching(tasks, rounds, state.range(2) != 0));
    }
    state.SetItemsProcessed(state.iterations() * tasks * rounds);
}
BENCHMARK(BM_io_sleep0_with_descriptor)
    ->Args({1000, 100, 0})
    ->Args({1000, 100, 1})
    ->Args({10, 10'000, 0})
    ->Args({10, 10'000, 1})
    ->UseRealTime();

} // namespace
