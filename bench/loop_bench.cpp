// SPDX-License-Identifier: MIT
// Benchmarks of the event loop itself: call_soon throughput, timer insert + cancel, sleep(0).
#include <asyncio/asyncio.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

// Schedules n callbacks, then yields once: sleep(0) queues this task behind all of them (FIFO),
// so when it resumes every callback has run.
asyncio::task<std::int64_t> run_callbacks(std::int64_t n) {
    std::int64_t counter = 0;
    std::int64_t* count = &counter;
    auto& loop = asyncio::get_running_loop();
    for (std::int64_t i = 0; i < n; ++i) {
        loop.call_soon([count] { ++*count; });
    }
    co_await asyncio::sleep(std::chrono::seconds(0));
    co_return counter;
}

// Inserts n timers with spread-out deadlines into the heap, then cancels each one (a cancelled
// timer leaves the heap at once). Nothing fires, so the run ends without waiting.
asyncio::task<std::size_t> insert_and_cancel_timers(std::int64_t n) {
    auto& loop = asyncio::get_running_loop();
    std::vector<asyncio::timer_handle> timers;
    timers.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        timers.push_back(loop.call_later(std::chrono::milliseconds(1 + (i * 7919) % 1000), [] {}));
    }
    for (auto& timer : timers) {
        timer.cancel();
    }
    co_return loop.pending_timers();
}

asyncio::task<> yielder(std::int64_t rounds) {
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await asyncio::sleep(std::chrono::seconds(0));
    }
}

// `tasks` tasks each yield `rounds` times: every sleep(0) is one trip through the ready queue.
asyncio::task<> yield_round_trips(std::int64_t tasks, std::int64_t rounds) {
    std::vector<asyncio::task<>> children;
    children.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t i = 0; i < tasks; ++i) {
        children.push_back(yielder(rounds));
    }
    co_await asyncio::gather(children);
}

void BM_loop_call_soon(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    // Virtual time like the others: a real clock would read the time every iteration.
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    for ([[maybe_unused]] auto _ : state) {
        auto ran = loop.run_until_complete(run_callbacks(n));
        if (ran != n) {
            state.SkipWithError("not every callback ran");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_loop_call_soon)->Arg(100)->Arg(10'000);

void BM_loop_timer_insert_cancel(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    for ([[maybe_unused]] auto _ : state) {
        auto left = loop.run_until_complete(insert_and_cancel_timers(n));
        if (left != 0) {
            state.SkipWithError("cancelled timers stayed in the heap");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_loop_timer_insert_cancel)->Arg(100)->Arg(10'000);

void BM_loop_sleep0_round_trip(benchmark::State& state) {
    const std::int64_t tasks = state.range(0);
    const std::int64_t rounds = state.range(1);
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    for ([[maybe_unused]] auto _ : state) {
        loop.run_until_complete(yield_round_trips(tasks, rounds));
    }
    state.SetItemsProcessed(state.iterations() * tasks * rounds);
}
BENCHMARK(BM_loop_sleep0_round_trip)->Args({1, 10'000})->Args({100, 100});

} // namespace
