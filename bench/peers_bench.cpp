// SPDX-License-Identifier: MIT
// Google Benchmark cases for W1-W5 of issue 6 (the workloads bench/peers/compare.sh runs against
// Python asyncio, uvloop and asio), on asyncio-cpp alone, for before/after comparisons of the loop,
// the frame allocator and the queue. Timers run on the virtual clock, so nothing waits: W4 then
// measures what a timer costs (heap push and pop, wake-up), not the 50 ms of sleeping.
// items_per_second reads as operations per second (tasks, switches, items, timers, levels).
#include "peers/asyncio_workloads.hpp"

#include <asyncio/asyncio.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>

namespace {

// One whole program per iteration: asyncio::run builds a fresh loop and tears it down, as each
// peer of compare.sh does.
template <class T> T run_once(asyncio::task<T> main) {
    return asyncio::run(std::move(main),
                        asyncio::run_options{.clock = asyncio::clock_kind::virtual_time});
}

void check(benchmark::State& state, std::int64_t got, std::int64_t want) {
    if (got != want) {
        state.SkipWithError("wrong result");
    }
}

// W1: create_task n times, gather the handles, sum.
void BM_peers_w1_spawn_gather(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w1_spawn_gather(n)), peers::triangle(n));
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_peers_w1_spawn_gather)
    ->Arg(1000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// W1 with eager tasks (loop.set_task_factory(asyncio::eager_task_factory)).
void BM_peers_w1_spawn_gather_eager(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w1_spawn_gather_eager(n)), peers::triangle(n));
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_peers_w1_spawn_gather_eager)
    ->Arg(1000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// W1 written with gather's range form over lazy tasks.
void BM_peers_w1_gather_lazy(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w1_gather_lazy(n)), peers::triangle(n));
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_peers_w1_gather_lazy)->Arg(100'000)->Unit(benchmark::kMillisecond);

// W2: tasks x rounds sleep(0) switches.
void BM_peers_w2_sleep0(benchmark::State& state) {
    const std::int64_t tasks = state.range(0);
    const std::int64_t rounds = state.range(1);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w2_yield(tasks, rounds)), tasks * rounds);
    }
    state.SetItemsProcessed(state.iterations() * tasks * rounds);
}
BENCHMARK(BM_peers_w2_sleep0)->Args({peers::w2_tasks, 1000})->Unit(benchmark::kMillisecond);

// W3: pairs producers and pairs consumers, n items through a queue of maxsize 1024.
void BM_peers_w3_queue(benchmark::State& state) {
    const std::int64_t pairs = state.range(0);
    const std::int64_t n = state.range(1);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w3_queue(n, pairs)), peers::triangle(n));
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_peers_w3_queue)
    ->ArgNames({"pairs", "items"})
    ->Args({1, 1'000'000})
    ->Args({4, 1'000'000})
    ->Unit(benchmark::kMillisecond);

// W4: n sleeps of seeded random delays in [0, 50 ms) on the virtual clock.
void BM_peers_w4_random_timers(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w4_random_sleeps(n)), n);
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_peers_w4_random_timers)->Arg(100'000)->Unit(benchmark::kMillisecond);

// W5: reps chains of 10,000 inline awaits.
void BM_peers_w5_await_chain(benchmark::State& state) {
    const std::int64_t reps = state.range(0);
    for ([[maybe_unused]] auto _ : state) {
        check(state, run_once(peers::w5_chains(reps)), reps * peers::w5_depth);
    }
    state.SetItemsProcessed(state.iterations() * reps * peers::w5_depth);
}
BENCHMARK(BM_peers_w5_await_chain)->Arg(100)->Unit(benchmark::kMillisecond);

} // namespace
