// SPDX-License-Identifier: MIT
// Regression tests, keyed by the issue in which the bug was found.

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <vector>

namespace {

using namespace std::chrono_literals;
using asyncio::testing::run_virtual;

asyncio::task<> consume_forever(asyncio::queue<int>* q, int* got) {
    for (;;) {
        (void)co_await q->get();
        ++*got;
        q->task_done();
    }
}

// The seed's asyncq.py shape: the queue is a local of the main task, which cancels its consumers
// and returns at once; the consumers unwind after the queue is gone.
asyncio::task<> local_queue_then_cancel(int* got, bool wake_one_first) {
    asyncio::queue<int> q;
    std::vector<asyncio::task_handle<>> consumers;
    for (int i = 0; i < 3; ++i) {
        consumers.push_back(asyncio::create_task(consume_forever(&q, got)));
    }
    co_await asyncio::sleep(0s);
    q.put_nowait(1);
    co_await q.join();
    if (wake_one_first) {
        q.put_nowait(2); // one consumer is woken but has not run when the queue dies
    }
    for (auto& c : consumers) {
        c.cancel();
    }
}

} // namespace

TEST_CASE(
    "issue 3: consumers cancelled right before their local queue is destroyed unwind safely") {
    int got = 0;
    run_virtual(local_queue_then_cancel(&got, false));
    CHECK(got == 1);
}

TEST_CASE("issue 3: a consumer woken by a put then cancelled after its queue died unwinds safely") {
    int got = 0;
    run_virtual(local_queue_then_cancel(&got, true));
    CHECK(got == 1);
}
