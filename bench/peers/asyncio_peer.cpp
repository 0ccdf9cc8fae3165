// SPDX-License-Identifier: MIT
// asyncio-cpp peer of the W1-W6 workloads of bench/peers/compare.sh, on the real (monotonic) clock.
//
//   g++ -O2 -std=c++20 -Iinclude bench/peers/asyncio_peer.cpp -o asyncio_peer
//   ./asyncio_peer WORKLOAD N
//
// WORKLOAD is one of W1, W2, W2-fd (W2 with an idle socket registered), W3-1p1c,
// W3-4p4c, W4, W5, W6; N counts operations (compare.sh's header
// says what one operation is). Checks its result and prints exactly one line:
//   asyncio-cpp <workload> N=<n> total_s=<seconds> ns_per_op=<ns>
#include "asyncio_workloads.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "asyncio-cpp: %s\n", what.c_str());
    std::exit(1);
}

void expect(std::string_view workload, const char* what, std::int64_t got, std::int64_t want) {
    if (got != want) {
        fail(std::string(workload) + ": " + what + " " + std::to_string(got) + ", expected " +
             std::to_string(want));
    }
}

// Runs one workload on a fresh loop (asyncio::run) and checks what it returns.
void run_workload(std::string_view name, std::int64_t n) {
    const asyncio::run_options real_clock{.clock = asyncio::clock_kind::monotonic};
    if (name == "W1") {
        expect(name, "sum", asyncio::run(peers::w1_spawn_gather(n), real_clock),
               peers::triangle(n));
    } else if (name == "W2") {
        expect(name, "yields",
               asyncio::run(peers::w2_yield(peers::w2_tasks, n / peers::w2_tasks), real_clock), n);
    } else if (name == "W2-fd") {
        expect(
            name, "yields",
            asyncio::run(peers::w2_yield_with_fd(peers::w2_tasks, n / peers::w2_tasks), real_clock),
            n);
    } else if (name == "W3-1p1c") {
        expect(name, "sum", asyncio::run(peers::w3_queue(n, 1), real_clock), peers::triangle(n));
    } else if (name == "W3-4p4c") {
        expect(name, "sum", asyncio::run(peers::w3_queue(n, 4), real_clock), peers::triangle(n));
    } else if (name == "W4") {
        expect(name, "timers fired", asyncio::run(peers::w4_random_sleeps(n), real_clock), n);
    } else if (name == "W5") {
        expect(name, "levels", asyncio::run(peers::w5_chains(n / peers::w5_depth), real_clock),
               n / peers::w5_depth * peers::w5_depth);
    } else if (name == "W6") {
        expect(name, "round trips", asyncio::run(peers::w6_ping_pong(n), real_clock), n);
    } else {
        fail("unknown workload " + std::string(name));
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fail("usage: asyncio_peer {W1,W2,W3-1p1c,W3-4p4c,W4,W5,W6} N");
    }
    const std::string_view name = argv[1];
    const std::int64_t n = std::strtoll(argv[2], nullptr, 10);
    if (n <= 0) {
        fail("N must be positive");
    }
    const auto start = std::chrono::steady_clock::now();
    try {
        run_workload(name, n);
    } catch (const std::exception& e) {
        fail(std::string(name) + " threw: " + e.what());
    } catch (...) {
        fail(std::string(name) + " threw a non-std exception");
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double work =
        name == "W4" ? wall - static_cast<double>(peers::w4_max_delay_ns) * 1e-9 : wall;
    std::printf("asyncio-cpp %s N=%lld total_s=%.6f ns_per_op=%.1f\n", argv[1],
                static_cast<long long>(n), wall, work * 1e9 / static_cast<double>(n));
    return 0;
}
