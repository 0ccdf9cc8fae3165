// SPDX-License-Identifier: MIT
// generators: the seed's odds() generator (next, list, for, and the end), then an async generator
// of ticks consumed by one task while another task runs.
//
// The Python twin (CPython 3.13 prints the same lines):
//
//     def odds(start, end):
//         for odd in range(start, end + 1, 2):
//             yield odd
//
//     g = odds(3, 15)
//     print("next(g) =", next(g))                     # 3
//     print("next(g) =", next(g))                     # 5
//     print("rest of g:", *g)                         # 7 9 11 13 15
//     try:
//         next(g)
//     except StopIteration:
//         print("next(g) = nothing: g is exhausted (StopIteration)")
//     print("list(odds(7, 13)) =", list(odds(7, 13)))  # [7, 9, 11, 13]
//     for x in odds(3, 21):
//         print(x)
//
//     async def ticks(n):
//         for i in range(1, n + 1):
//             await asyncio.sleep(0.2)
//             yield i
//
//     async def heartbeat():
//         await asyncio.sleep(0.1)
//         for i in range(1, 4):
//             print("  heartbeat", i)
//             await asyncio.sleep(0.4)
//
//     async def main():
//         beat = asyncio.create_task(heartbeat())
//         async for i in ticks(5):
//             print("tick", i)
//         await beat
//
//     asyncio.run(main())
#include <asyncio/asyncio.hpp>
#include <asyncio/generator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

asyncio::generator<int> odds(int start, int end) {
    for (int odd = start; odd <= end; odd += 2) {
        co_yield odd;
    }
}

void sync_generators() {
    auto g = odds(3, 15);
    // next() returns std::optional<int>; .value() throws past the end, as Python's next(g) does.
    std::printf("next(g) = %d\n", asyncio::next(g).value());
    std::printf("next(g) = %d\n", asyncio::next(g).value());
    std::printf("rest of g:");
    for (int x : g) { // continues where next() stopped, as in Python
        std::printf(" %d", x);
    }
    std::printf("\n");
    if (!asyncio::next(g)) { // std::nullopt: the C++ spelling of StopIteration
        std::printf("next(g) = nothing: g is exhausted (StopIteration)\n");
    }

    std::vector<int> list;
    std::ranges::copy(odds(7, 13), std::back_inserter(list));
    std::string text;
    for (int x : list) {
        text += (text.empty() ? "" : ", ") + std::to_string(x);
    }
    std::printf("list(odds(7, 13)) = [%s]\n", text.c_str());

    for (int x : odds(3, 21)) {
        std::printf("%d\n", x);
    }
}

asyncio::async_generator<int> ticks(int n) {
    for (int i = 1; i <= n; ++i) {
        co_await asyncio::sleep(200ms);
        co_yield i;
    }
}

asyncio::task<> heartbeat() {
    co_await asyncio::sleep(100ms);
    for (int i = 1; i <= 3; ++i) {
        std::printf("  heartbeat %d\n", i);
        co_await asyncio::sleep(400ms);
    }
}

asyncio::task<> main_task() {
    auto beat = asyncio::create_task(heartbeat());
    auto gen = ticks(5);
    while (auto i = co_await gen.next()) { // async for i in ticks(5):
        std::printf("tick %d\n", *i);
    }
    co_await beat;
}

} // namespace

int main() {
    sync_generators();
    asyncio::run(main_task());
    return 0;
}
