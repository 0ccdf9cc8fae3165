// SPDX-License-Identifier: MIT
// simulation: workers that advance in lock-step, each step ended by an asyncio::barrier; the port
// of a typical barrier-synchronised asyncio simulation (its Python twin is below).
//
//   simulation [--virtual-time]
//
// --virtual-time runs the loop on a virtual clock (no real waiting; the CTest test uses it).
//
// The Python original, line for line:
//
//     def now():
//         return asyncio.get_running_loop().time() - start
//
//     async def worker(i, barrier, steps):
//         for step in range(steps):
//             await asyncio.sleep(0.1 * (i + 1))
//             print(f"{now():.1f} worker {i} finished step {step}")
//             index = await barrier.wait()
//             if index == barrier.parties - 1:
//                 print(f"{now():.1f} step {step}: every worker is done (worker {i} arrived last)")
//
//     async def main():
//         global start
//         start = asyncio.get_running_loop().time()
//         barrier = asyncio.Barrier(3)
//         async with asyncio.TaskGroup() as tg:
//             for i in range(3):
//                 tg.create_task(worker(i, barrier, 3))
//         print(f"{now():.1f} simulation over")
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>

namespace {

using namespace std::chrono_literals;

// Python's now(): the loop's time since main started, in seconds (loop.time() - start).
asyncio::loop_clock::time_point start;

double now() {
    return std::chrono::duration<double>(asyncio::loop_clock::now() - start).count();
}

asyncio::task<> worker(int i, asyncio::barrier* barrier, int steps) {
    for (int step = 0; step < steps; ++step) {
        co_await asyncio::sleep(100ms * (i + 1));
        std::printf("%.1f worker %d finished step %d\n", now(), i, step);
        const auto index = co_await barrier->wait();
        if (index == barrier->parties() - 1) {
            std::printf("%.1f step %d: every worker is done (worker %d arrived last)\n", now(),
                        step, i);
        }
    }
}

asyncio::task<> main_task() {
    start = asyncio::loop_clock::now();
    asyncio::barrier barrier(3);
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
        for (int i = 0; i < 3; ++i) {
            tg.create_task(worker(i, &barrier, 3));
        }
        co_return;
    });
    std::printf("%.1f simulation over\n", now());
}

} // namespace

int main(int argc, char** argv) {
    asyncio::run_options opts;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--virtual-time") == 0) {
            opts.clock = asyncio::clock_kind::virtual_time;
        } else {
            std::fprintf(stderr, "usage: simulation [--virtual-time]\n");
            return 2;
        }
    }
    try {
        asyncio::run(main_task(), std::move(opts));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "simulation: %s\n", e.what());
        return 1;
    }
    return 0;
}
