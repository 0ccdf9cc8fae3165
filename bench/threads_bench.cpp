// SPDX-License-Identifier: MIT
// Benchmarks across threads: call_soon_threadsafe throughput from 1 and 2 threads, and the round
// trip of to_thread (submit to the default executor, run a no-op there, resume the awaiter).
#include <asyncio/asyncio.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace {

// Each of `producers` threads posts `per_thread` callbacks to a real-clock loop, which counts them
// and stops after the last one; the loop waits in its selector whenever it has drained the queue.
void BM_call_soon_threadsafe(benchmark::State& state) {
    const auto producers = static_cast<int>(state.range(0));
    const std::int64_t per_thread = state.range(1);
    const std::int64_t total = per_thread * producers;
    asyncio::event_loop loop;
    for ([[maybe_unused]] auto _ : state) {
        std::int64_t count = 0;
        std::vector<std::thread> threads;
        threads.reserve(static_cast<std::size_t>(producers));
        for (int p = 0; p < producers; ++p) {
            threads.emplace_back([&loop, &count, per_thread, total] {
                for (std::int64_t i = 0; i < per_thread; ++i) {
                    loop.call_soon_threadsafe([&loop, &count, total] {
                        if (++count == total) {
                            loop.stop();
                        }
                    });
                }
            });
        }
        loop.run_forever();
        for (auto& t : threads) {
            t.join();
        }
        if (count != total) {
            state.SkipWithError("not every callback ran");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * total);
}
BENCHMARK(BM_call_soon_threadsafe)
    ->ArgNames({"threads", "per_thread"})
    ->Args({1, 10'000})
    ->Args({2, 10'000})
    ->UseRealTime();

asyncio::task<int> to_thread_round_trips(std::int64_t n) {
    int sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await asyncio::to_thread([] { return 1; });
    }
    co_return sum;
}

// One iteration: `n` sequential `co_await to_thread(f)` on a loop whose default executor is
// already started (its thread is idle between jobs).
void BM_to_thread_round_trip(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    asyncio::event_loop loop;
    (void)loop.run_until_complete(to_thread_round_trips(1)); // start the pool's thread
    for ([[maybe_unused]] auto _ : state) {
        if (loop.run_until_complete(to_thread_round_trips(n)) != n) {
            state.SkipWithError("a round trip was lost");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * n);
    loop.run_until_complete(loop.shutdown_default_executor());
}
BENCHMARK(BM_to_thread_round_trip)->Arg(1'000)->UseRealTime();

} // namespace
