// SPDX-License-Identifier: MIT
// netcan/asyncio peer of the W1, W2, W4 and W5 workloads of bench/peers/compare.sh (issue 14).
//
//   built by compare.sh from NETCAN_SRC (a netcan/asyncio source folder, never committed here)
//   ./netcan_peer WORKLOAD N
//
// Written as netcan/asyncio's README writes it: asyncio::run on the thread's event loop,
// schedule_task to spawn, co_await on the scheduled tasks to gather (its gather() is variadic
// only), asyncio::sleep for timers. Its clock counts whole milliseconds: sleep(0) and W4's
// delays are rounded to them. It has no queue, so W3 is not run. Prints exactly one line:
//   netcan <workload> N=<n> total_s=<seconds> ns_per_op=<ns>
#include <asyncio/runner.h>
#include <asyncio/schedule_task.h>
#include <asyncio/sleep.h>
#include <asyncio/task.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::int64_t w2_tasks = 1000;
constexpr std::int64_t w4_max_delay_ns = 50'000'000;
constexpr std::uint64_t w4_seed = 42;
constexpr int w5_depth = 10'000;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "netcan: %s\n", what.c_str());
    std::exit(1);
}

std::int64_t triangle(std::int64_t n) {
    return n * (n - 1) / 2;
}

asyncio::Task<std::int64_t> w1_child(std::int64_t i) {
    co_return i;
}

asyncio::Task<std::int64_t> w1_spawn_gather(std::int64_t n) {
    std::vector<asyncio::ScheduledTask<asyncio::Task<std::int64_t>>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(asyncio::schedule_task(w1_child(i)));
    }
    std::int64_t sum = 0;
    for (auto& t : tasks) {
        sum += co_await t;
    }
    co_return sum;
}

asyncio::Task<> w2_yielder(std::int64_t rounds, std::int64_t* counter) {
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await asyncio::sleep(std::chrono::milliseconds(0));
    }
    *counter += rounds;
}

asyncio::Task<std::int64_t> w2_yield(std::int64_t tasks, std::int64_t rounds) {
    std::int64_t counter = 0;
    std::vector<asyncio::ScheduledTask<asyncio::Task<>>> children;
    children.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t i = 0; i < tasks; ++i) {
        children.push_back(asyncio::schedule_task(w2_yielder(rounds, &counter)));
    }
    for (auto& c : children) {
        co_await c;
    }
    co_return counter;
}

asyncio::Task<> w4_sleeper(std::int64_t delay_ns, std::int64_t* fired) {
    co_await asyncio::sleep(std::chrono::nanoseconds(delay_ns));
    ++*fired;
}

asyncio::Task<std::int64_t> w4_random_sleeps(std::int64_t n) {
    std::mt19937_64 rng(w4_seed);
    std::uniform_int_distribution<std::int64_t> delay(0, w4_max_delay_ns - 1);
    std::int64_t fired = 0;
    std::vector<asyncio::ScheduledTask<asyncio::Task<>>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(asyncio::schedule_task(w4_sleeper(delay(rng), &fired)));
    }
    for (auto& t : tasks) {
        co_await t;
    }
    co_return fired;
}

asyncio::Task<int> w5_chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await w5_chain(depth - 1);
}

asyncio::Task<std::int64_t> w5_chains(std::int64_t reps) {
    std::int64_t levels = 0;
    for (std::int64_t r = 0; r < reps; ++r) {
        levels += co_await w5_chain(w5_depth);
    }
    co_return levels;
}

void expect(std::string_view workload, const char* what, std::int64_t got, std::int64_t want) {
    if (got != want) {
        fail(std::string(workload) + ": " + what + " " + std::to_string(got) + ", expected " +
             std::to_string(want));
    }
}

void run_workload(std::string_view name, std::int64_t n) {
    if (name == "W1") {
        expect(name, "sum", asyncio::run(w1_spawn_gather(n)), triangle(n));
    } else if (name == "W2") {
        expect(name, "yields", asyncio::run(w2_yield(w2_tasks, n / w2_tasks)), n);
    } else if (name == "W4") {
        expect(name, "timers fired", asyncio::run(w4_random_sleeps(n)), n);
    } else if (name == "W5") {
        expect(name, "levels", asyncio::run(w5_chains(n / w5_depth)), n / w5_depth * w5_depth);
    } else {
        fail("unknown workload " + std::string(name));
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fail("usage: netcan_peer {W1,W2,W4,W5} N");
    }
    const std::string_view name = argv[1];
    const std::int64_t n = std::strtoll(argv[2], nullptr, 10);
    if (n <= 0) {
        fail("N must be positive");
    }
    const auto start = std::chrono::steady_clock::now();
    run_workload(name, n);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double work = name == "W4" ? wall - static_cast<double>(w4_max_delay_ns) * 1e-9 : wall;
    std::printf("netcan %s N=%lld total_s=%.6f ns_per_op=%.1f\n", argv[1],
                static_cast<long long>(n), wall, work * 1e9 / static_cast<double>(n));
    return 0;
}
