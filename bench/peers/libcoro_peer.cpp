// SPDX-License-Identifier: MIT
// jbaldwin/libcoro peer of the W1-W5 workloads of bench/peers/compare.sh (issue 14).
//
//   built by compare.sh from LIBCORO_SRC (a libcoro source folder, never committed here)
//   ./libcoro_peer WORKLOAD N
//
// Written the way libcoro's own examples write it: one coro::scheduler with a dedicated event
// thread that resumes every task inline (thread_strategy spawn, process_tasks_inline), the main
// thread waiting in coro::sync_wait; spawning is schedule() + when_all, yielding is yield(),
// timers are yield_for(), the bounded queue is coro::ring_buffer. Prints exactly one line:
//   libcoro <workload> N=<n> total_s=<seconds> ns_per_op=<ns>
#include <coro/coro.hpp>
#include <coro/scheduler.hpp> // coro.hpp includes it only with the networking feature

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::int64_t w2_tasks = 1000;
constexpr std::int64_t w4_max_delay_ns = 50'000'000;
constexpr std::uint64_t w4_seed = 42;
constexpr int w5_depth = 10'000;
constexpr std::size_t w3_maxsize = 1024;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "libcoro: %s\n", what.c_str());
    std::exit(1);
}

std::int64_t triangle(std::int64_t n) {
    return n * (n - 1) / 2;
}

coro::task<std::int64_t> w1_child(coro::scheduler& s, std::int64_t i) {
    co_await s.schedule();
    co_return i;
}

coro::task<std::int64_t> w1_spawn_gather(coro::scheduler& s, std::int64_t n) {
    co_await s.schedule();
    std::vector<coro::task<std::int64_t>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(w1_child(s, i));
    }
    auto results = co_await coro::when_all(std::move(tasks));
    std::int64_t sum = 0;
    for (auto& r : results) {
        sum += r.return_value();
    }
    co_return sum;
}

coro::task<void> w2_yielder(coro::scheduler& s, std::int64_t rounds, std::int64_t* counter) {
    co_await s.schedule();
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await s.yield();
    }
    *counter += rounds;
}

coro::task<std::int64_t> w2_yield(coro::scheduler& s, std::int64_t tasks, std::int64_t rounds) {
    co_await s.schedule();
    std::int64_t counter = 0;
    std::vector<coro::task<void>> children;
    children.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t i = 0; i < tasks; ++i) {
        children.push_back(w2_yielder(s, rounds, &counter));
    }
    co_await coro::when_all(std::move(children));
    co_return counter;
}

using ring = coro::ring_buffer<std::int64_t, w3_maxsize>;

coro::task<void> w3_producer(coro::scheduler& s, ring& q, std::int64_t first, std::int64_t count) {
    co_await s.schedule();
    for (std::int64_t i = first; i < first + count; ++i) {
        co_await q.produce(i);
    }
}

coro::task<void> w3_consumer(coro::scheduler& s, ring& q, std::int64_t count, std::int64_t* sum) {
    co_await s.schedule();
    for (std::int64_t i = 0; i < count; ++i) {
        auto v = co_await q.consume();
        if (!v) {
            fail("W3: ring_buffer stopped early");
        }
        *sum += *v;
    }
}

coro::task<std::int64_t> w3_queue(coro::scheduler& s, std::int64_t n, std::int64_t pairs) {
    co_await s.schedule();
    ring q;
    const std::int64_t per = n / pairs;
    std::int64_t sum = 0;
    std::vector<coro::task<void>> tasks;
    for (std::int64_t c = 0; c < pairs; ++c) {
        tasks.push_back(w3_consumer(s, q, per, &sum));
    }
    for (std::int64_t p = 0; p < pairs; ++p) {
        tasks.push_back(w3_producer(s, q, p * per, per));
    }
    co_await coro::when_all(std::move(tasks));
    co_return q.empty() ? sum : -1;
}

coro::task<void> w4_sleeper(coro::scheduler& s, std::int64_t delay_ns, std::int64_t* fired) {
    co_await s.schedule();
    co_await s.yield_for(std::chrono::nanoseconds(delay_ns));
    ++*fired;
}

coro::task<std::int64_t> w4_random_sleeps(coro::scheduler& s, std::int64_t n) {
    co_await s.schedule();
    std::mt19937_64 rng(w4_seed);
    std::uniform_int_distribution<std::int64_t> delay(0, w4_max_delay_ns - 1);
    std::int64_t fired = 0;
    std::vector<coro::task<void>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        tasks.push_back(w4_sleeper(s, delay(rng), &fired));
    }
    co_await coro::when_all(std::move(tasks));
    co_return fired;
}

coro::task<int> w5_chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await w5_chain(depth - 1);
}

coro::task<std::int64_t> w5_chains(coro::scheduler& s, std::int64_t reps) {
    co_await s.schedule();
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
    auto s = coro::scheduler::make_unique(coro::scheduler::options{
        .thread_strategy = coro::scheduler::thread_strategy_t::spawn,
        .on_io_thread_start_functor = nullptr,
        .on_io_thread_stop_functor = nullptr,
        .pool = {.thread_count = 1,
                 .on_thread_start_functor = nullptr,
                 .on_thread_stop_functor = nullptr},
        .execution_strategy = coro::scheduler::execution_strategy_t::process_tasks_inline});
    if (name == "W1") {
        expect(name, "sum", coro::sync_wait(w1_spawn_gather(*s, n)), triangle(n));
    } else if (name == "W2") {
        expect(name, "yields", coro::sync_wait(w2_yield(*s, w2_tasks, n / w2_tasks)), n);
    } else if (name == "W3-1p1c") {
        expect(name, "sum", coro::sync_wait(w3_queue(*s, n, 1)), triangle(n));
    } else if (name == "W3-4p4c") {
        expect(name, "sum", coro::sync_wait(w3_queue(*s, n, 4)), triangle(n));
    } else if (name == "W4") {
        expect(name, "timers fired", coro::sync_wait(w4_random_sleeps(*s, n)), n);
    } else if (name == "W5") {
        expect(name, "levels", coro::sync_wait(w5_chains(*s, n / w5_depth)),
               n / w5_depth * w5_depth);
    } else {
        fail("unknown workload " + std::string(name));
    }
    s->shutdown();
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fail("usage: libcoro_peer {W1,W2,W3-1p1c,W3-4p4c,W4,W5} N");
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
    std::printf("libcoro %s N=%lld total_s=%.6f ns_per_op=%.1f\n", argv[1],
                static_cast<long long>(n), wall, work * 1e9 / static_cast<double>(n));
    return 0;
}
