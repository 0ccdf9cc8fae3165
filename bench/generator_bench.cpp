// SPDX-License-Identifier: MIT
// Benchmarks of generator<T>: the cost per yielded value beside a hand-written iterator, and the
// cost per element of co_yield elements_of at nesting depths 1, 8 and 64.
#include <asyncio/generator.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

// Every consumer sums 1..n and passes the running sum through DoNotOptimize after every value, so
// no loop is folded into n(n+1)/2 or vectorised: each value is really produced and consumed. The
// same rule as async_generator_bench.cpp, so the figures compare.

asyncio::generator<int> count_up(int n) {
    for (int i = 1; i <= n; ++i) {
        co_yield i;
    }
}

void BM_generator_sum(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t sum = 0;
        for (int v : count_up(n)) {
            sum += v;
            benchmark::DoNotOptimize(sum);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_generator_sum)->Arg(10'000);

// Python's `while True: v = next(g)` spelled `while (auto v = asyncio::next(g))`.
void BM_generator_next_sum(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t sum = 0;
        auto g = count_up(n);
        while (auto v = asyncio::next(g)) {
            sum += *v;
            benchmark::DoNotOptimize(sum);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_generator_next_sum)->Arg(10'000);

/// The hand-written equivalent of count_up: a struct with operator* and operator++ over 1..n.
struct counting_iterator {
    int i;
    int operator*() const noexcept { return i; }
    counting_iterator& operator++() noexcept {
        ++i;
        return *this;
    }
    friend bool operator==(counting_iterator a, counting_iterator b) noexcept { return a.i == b.i; }
};

void BM_generator_baseline_iterator_sum(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t sum = 0;
        for (counting_iterator it{1}, end{n + 1}; it != end; ++it) {
            sum += *it;
            benchmark::DoNotOptimize(sum);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_generator_baseline_iterator_sum)->Arg(10'000);

// `depth` generators, each yielding elements_of the next, around count_up(n): every element is
// produced at the bottom and handed straight to the consumer, so the cost per element should not
// grow with the depth (the frames are made once per n elements).
asyncio::generator<int> nested(int depth, int n) {
    if (depth == 0) {
        co_yield asyncio::elements_of(count_up(n));
        co_return;
    }
    co_yield asyncio::elements_of(nested(depth - 1, n));
}

void BM_generator_elements_of_depth(benchmark::State& state) {
    const auto depth = static_cast<int>(state.range(0));
    constexpr int n = 10'000;
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t sum = 0;
        for (int v : nested(depth - 1, n)) {
            sum += v;
            benchmark::DoNotOptimize(sum);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_generator_elements_of_depth)->ArgName("depth")->Arg(1)->Arg(8)->Arg(64);

} // namespace
