// SPDX-License-Identifier: MIT
// The program every packaging consumer builds (tests/package/*): asyncio-cpp is found, compiles
// as C++20 with the consumer's compiler and flags, and works.
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>

namespace {

asyncio::task<int> fetch(int id) {
    co_await asyncio::sleep(std::chrono::milliseconds(5 * id));
    co_return id;
}

asyncio::task<int> main_task() {
    auto [a, b] = co_await asyncio::gather(fetch(1), fetch(2));
    co_return a + b;
}

} // namespace

int main() {
    const int sum = asyncio::run(main_task());
    std::printf("asyncio-cpp %d.%d.%d: gather(fetch(1), fetch(2)) summed to %d\n",
                ASYNCIO_VERSION_MAJOR, ASYNCIO_VERSION_MINOR, ASYNCIO_VERSION_PATCH, sum);
    return sum == 3 ? 0 : 1;
}
