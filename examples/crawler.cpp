// SPDX-License-Identifier: MIT
// crawler: a fan-out under a task_group with a global timeout and a semaphore limiting how many
// fetches run at once; the port of a typical asyncio crawler (its Python twin is below). The
// "network" is simulated with sleeps of known lengths, so the output is exact.
//
//   crawler [--virtual-time]
//
// --virtual-time runs the loop on a virtual clock (no real waiting; the CTest test uses it).
//
// The Python original, line for line:
//
//     PAGES = {"/": ["/docs", "/blog", "/about"], "/docs": ["/docs/api", "/docs/faq"],
//              "/blog": ["/blog/2026", "/docs"], "/about": [], "/docs/api": ["/docs/api/slow"],
//              "/docs/faq": [], "/blog/2026": [], "/docs/api/slow": []}
//     DELAY = {"/docs/api/slow": 10.0}
//
//     def now():
//         return asyncio.get_running_loop().time() - start
//
//     async def fetch(path, sem):
//         async with sem:
//             print(f"{now():5.2f} fetch {path}")
//             await asyncio.sleep(DELAY.get(path, 0.1 * len(path)))
//             print(f"{now():5.2f} got {path}: {len(PAGES[path])} links")
//             return PAGES[path]
//
//     async def crawl(path, tg, sem, seen):
//         for link in await fetch(path, sem):
//             if link not in seen:
//                 seen.add(link)
//                 tg.create_task(crawl(link, tg, sem, seen), name=link)
//
//     async def main():
//         global start
//         start = asyncio.get_running_loop().time()
//         sem = asyncio.Semaphore(2)
//         seen = {"/"}
//         try:
//             async with asyncio.timeout(3.0):
//                 async with asyncio.TaskGroup() as tg:
//                     tg.create_task(crawl("/", tg, sem, seen), name="/")
//             print(f"{now():5.2f} done")
//         except TimeoutError:
//             print(f"{now():5.2f} timed out with {len(seen)} pages seen")
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

const std::map<std::string, std::vector<std::string>> pages{{"/", {"/docs", "/blog", "/about"}},
                                                            {"/docs", {"/docs/api", "/docs/faq"}},
                                                            {"/blog", {"/blog/2026", "/docs"}},
                                                            {"/about", {}},
                                                            {"/docs/api", {"/docs/api/slow"}},
                                                            {"/docs/faq", {}},
                                                            {"/blog/2026", {}},
                                                            {"/docs/api/slow", {}}};

// Python's now(): the loop's time since main started, in seconds (loop.time() - start).
asyncio::loop_clock::time_point start;

double now() {
    return std::chrono::duration<double>(asyncio::loop_clock::now() - start).count();
}

asyncio::task<std::vector<std::string>> fetch(std::string path, asyncio::semaphore* sem) {
    auto held = co_await sem->acquire_guard(); // async with sem:
    std::printf("%5.2f fetch %s\n", now(), path.c_str());
    const auto delay = path == "/docs/api/slow" ? std::chrono::milliseconds(10s)
                                                : 100ms * static_cast<int>(path.size());
    co_await asyncio::sleep(delay);
    const auto& links = pages.at(path);
    std::printf("%5.2f got %s: %zu links\n", now(), path.c_str(), links.size());
    co_return links;
}

asyncio::task<> crawl(std::string path, asyncio::task_group* tg, asyncio::semaphore* sem,
                      std::set<std::string>* seen) {
    for (const std::string& link : co_await fetch(path, sem)) {
        if (seen->insert(link).second) {
            tg->create_task(crawl(link, tg, sem, seen), link);
        }
    }
}

asyncio::task<> main_task() {
    start = asyncio::loop_clock::now();
    asyncio::semaphore sem(2);
    std::set<std::string> seen{"/"};
    try {
        co_await asyncio::timeout(3s, [&]() -> asyncio::task<> {
            co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
                tg.create_task(crawl("/", &tg, &sem, &seen), "/");
                co_return;
            });
        });
        std::printf("%5.2f done\n", now());
    } catch (const asyncio::timeout_error&) {
        std::printf("%5.2f timed out with %zu pages seen\n", now(), seen.size());
    }
}

} // namespace

int main(int argc, char** argv) {
    asyncio::run_options opts;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--virtual-time") == 0) {
            opts.clock = asyncio::clock_kind::virtual_time;
        } else {
            std::fprintf(stderr, "usage: crawler [--virtual-time]\n");
            return 2;
        }
    }
    try {
        asyncio::run(main_task(), std::move(opts));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crawler: %s\n", e.what());
        return 1;
    }
    return 0;
}
