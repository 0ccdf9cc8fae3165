// SPDX-License-Identifier: MIT
// countasync: three coroutines gathered; each prints "One", sleeps one second, prints "Two".
// The port of Real Python's countasync.py; the three sleeps overlap, so it takes one second.
//
//   countasync [--virtual-time]
//
// The time it prints is read on the loop's clock (loop.time()). --virtual-time runs the loop on a
// virtual clock: no real waiting, and exactly "executed in 1.00 seconds" (the CTest test uses it;
// scripts/examples.sh runs the real-clock version).
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>

namespace {

asyncio::task<> count() {
    std::puts("One");
    std::fflush(stdout);
    co_await asyncio::sleep(std::chrono::seconds(1));
    std::puts("Two");
    std::fflush(stdout);
}

asyncio::task<> main_task() {
    co_await asyncio::gather(count(), count(), count());
}

/// main_task timed on the loop's clock, in seconds.
asyncio::task<double> timed_main() {
    const auto start = asyncio::loop_clock::now();
    co_await main_task();
    const std::chrono::duration<double> elapsed = asyncio::loop_clock::now() - start;
    co_return elapsed.count();
}

} // namespace

int main(int argc, char** argv) {
    const char* program = (argc > 0 && argv[0] != nullptr) ? argv[0] : "countasync";
    asyncio::run_options opts;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--virtual-time") == 0) {
            opts.clock = asyncio::clock_kind::virtual_time;
        } else {
            std::fprintf(stderr, "usage: countasync [--virtual-time]\n");
            return 2;
        }
    }
    double elapsed = 0;
    try {
        elapsed = asyncio::run(timed_main(), std::move(opts));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "countasync: %s\n", e.what());
        return 1;
    } catch (const asyncio::cancelled_error& e) {
        std::fprintf(stderr, "countasync: cancelled: %s\n", e.what());
        return 1;
    }
    std::printf("%s executed in %0.2f seconds.\n", program, elapsed);
    std::fflush(stdout);
    return 0;
}
