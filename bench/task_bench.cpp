// SPDX-License-Identifier: MIT
// Benchmarks of task<T>: create_task + await, a deep chain of inline awaits, and gather fan-out.
#include <asyncio/asyncio.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

asyncio::task<int> leaf(int value) {
    co_return value;
}

// Awaiting a lazy task runs it inline: no loop round trip, the cheapest await there is.
asyncio::task<std::int64_t> await_inline(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await leaf(static_cast<int>(i));
    }
    co_return sum;
}

// create_task schedules the child for the next iteration; awaiting its handle suspends until it
// finishes and resumes through the ready queue: the full spawn-and-join path.
asyncio::task<std::int64_t> create_and_await(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        auto child = asyncio::create_task(leaf(static_cast<int>(i)));
        sum += co_await child;
    }
    co_return sum;
}

// Each level awaits the next: exercises symmetric transfer (the stack must stay flat).
asyncio::task<int> chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await chain(depth - 1);
}

asyncio::task<std::size_t> fan_out(std::int64_t n) {
    std::vector<asyncio::task<int>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        children.push_back(leaf(static_cast<int>(i)));
    }
    auto results = co_await asyncio::gather(children);
    co_return results.size();
}

void BM_task_await_inline(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    asyncio::event_loop loop;
    for ([[maybe_unused]] auto _ : state) {
        auto sum = loop.run_until_complete(await_inline(n));
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_task_await_inline)->Arg(1000);

void BM_task_create_and_await(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    asyncio::event_loop loop;
    for ([[maybe_unused]] auto _ : state) {
        auto sum = loop.run_until_complete(create_and_await(n));
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_task_create_and_await)->Arg(1000);

void BM_task_await_chain(benchmark::State& state) {
    const auto depth = static_cast<int>(state.range(0));
    asyncio::event_loop loop;
    for ([[maybe_unused]] auto _ : state) {
        auto levels = loop.run_until_complete(chain(depth));
        benchmark::DoNotOptimize(levels);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_task_await_chain)->Arg(10'000);

void BM_gather_fan_out(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    asyncio::event_loop loop;
    for ([[maybe_unused]] auto _ : state) {
        auto count = loop.run_until_complete(fan_out(n));
        benchmark::DoNotOptimize(count);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_gather_fan_out)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Arg(10'000)->Arg(100'000);

} // namespace
