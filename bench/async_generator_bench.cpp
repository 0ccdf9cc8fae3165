// SPDX-License-Identifier: MIT
// Benchmarks of async_generator<T>: the cost per yielded value, beside a hand-written iterator.
#include <asyncio/async_generator.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

// Both consumers sum 1..n and pass the running sum through DoNotOptimize after every value, so
// neither loop is folded into n(n+1)/2 or vectorised: each value is really produced and consumed.

asyncio::async_generator<int> count_up(int n) {
    for (int i = 1; i <= n; ++i) {
        co_yield i;
    }
}

// Every next() resumes the generator inline in the consuming task and returns at its co_yield:
// no loop round trip, so this measures the generator machinery itself.
asyncio::task<std::int64_t> sum_async_generator(int n) {
    std::int64_t sum = 0;
    auto gen = count_up(n);
    while (auto v = co_await gen.next()) {
        sum += *v;
        benchmark::DoNotOptimize(sum);
    }
    co_return sum;
}

void BM_async_generator_sum(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    const std::int64_t expected = std::int64_t{n} * (n + 1) / 2;
    // One loop for every iteration, built outside the timed region: the per-value figure is the
    // generator's (plus one task per n values), not the loop's construction.
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    for ([[maybe_unused]] auto _ : state) {
        auto sum = loop.run_until_complete(sum_async_generator(n));
        benchmark::DoNotOptimize(sum);
        if (sum != expected) {
            state.SkipWithError("the generator's values do not sum to n(n+1)/2");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_async_generator_sum)->Arg(10000);

/// The hand-written equivalent: an input iterator over 1..n.
class counting_iterator {
public:
    explicit counting_iterator(int i) noexcept : i_(i) {}
    int operator*() const noexcept { return i_; }
    counting_iterator& operator++() noexcept {
        ++i_;
        return *this;
    }
    friend bool operator==(counting_iterator a, counting_iterator b) noexcept {
        return a.i_ == b.i_;
    }

private:
    int i_;
};

void BM_hand_written_iterator_sum(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t sum = 0;
        for (counting_iterator it(1), end(n + 1); it != end; ++it) {
            sum += *it;
            benchmark::DoNotOptimize(sum);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_hand_written_iterator_sum)->Arg(10000);

} // namespace
