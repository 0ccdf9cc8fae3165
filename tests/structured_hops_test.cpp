// SPDX-License-Identifier: MIT
// Hop counts of the structured-concurrency layer (asyncio-semantics.md 1.8): task_group, wait and
// shield resume their awaiter two iterations after the last child finishes; timeout and wait_for
// add no iteration. Twin of tests/py/structured_hops.py (tests/py/structured_hops.expected).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using asyncio::testing::run_virtual;

namespace {

struct counter {
    int iteration = 0;
    bool stop = false;
    void arm(asyncio::event_loop& loop) {
        loop.call_soon([this, &loop] {
            if (!stop) {
                ++iteration;
                arm(loop);
            }
        });
    }
};

asyncio::task<int> child(counter* c, std::vector<int>* marks) {
    co_await asyncio::sleep(0s);
    marks->push_back(c->iteration);
    co_return 1;
}

asyncio::task<> hops(std::vector<std::string>* log) {
    counter c;
    c.arm(asyncio::get_running_loop());
    co_await asyncio::sleep(0s);
    std::vector<int> marks;
    auto line = [&](const std::string& what, const char* verb) {
        log->push_back(what + ": " + verb + " finished " + std::to_string(marks.back()) +
                       " awaiter resumed " + std::to_string(c.iteration));
    };
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<> {
        tg.create_task(child(&c, &marks));
        co_return;
    });
    line("task_group", "child");
    std::vector<asyncio::task_handle<int>> t{asyncio::create_task(child(&c, &marks))};
    (void)co_await asyncio::wait(t);
    line("wait", "child");
    const int start = c.iteration;
    (void)co_await asyncio::wait(t);
    log->push_back("wait on a done task: iterations " + std::to_string(c.iteration - start));
    auto s = asyncio::create_task(child(&c, &marks));
    (void)co_await asyncio::shield(s);
    line("shield", "child");
    co_await asyncio::timeout(10s, [&]() -> asyncio::task<> { (void)co_await child(&c, &marks); });
    line("timeout", "body");
    (void)co_await asyncio::wait_for(child(&c, &marks), 10s);
    line("wait_for", "body");
    c.stop = true;
    co_await asyncio::sleep(0s); // the counter's queued callback runs (and stops) before c goes
}

} // namespace

TEST_CASE("structured concurrency: task_group, wait and shield resume two iterations after the "
          "last child, while timeout and wait_for add none") {
    std::vector<std::string> log;
    run_virtual(hops(&log));
    CHECK(log == std::vector<std::string>{"task_group: child finished 3 awaiter resumed 5",
                                          "wait: child finished 7 awaiter resumed 9",
                                          "wait on a done task: iterations 2",
                                          "shield: child finished 13 awaiter resumed 15",
                                          "timeout: body finished 16 awaiter resumed 16",
                                          "wait_for: body finished 17 awaiter resumed 17"});
}
