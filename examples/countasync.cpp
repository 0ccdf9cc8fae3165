// SPDX-License-Identifier: MIT
// countasync: three coroutines gathered; each prints "One", sleeps one second, prints "Two".
// The port of Real Python's countasync.py; the three sleeps overlap, so it takes one second.
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>

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

} // namespace

int main(int argc, char** argv) {
    const char* program = (argc > 0 && argv[0] != nullptr) ? argv[0] : "countasync";
    const auto start = std::chrono::steady_clock::now();
    asyncio::run(main_task());
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%s executed in %0.2f seconds.\n", program, elapsed.count());
    std::fflush(stdout);
    return 0;
}
