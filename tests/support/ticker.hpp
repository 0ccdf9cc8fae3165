// SPDX-License-Identifier: MIT
// A ticker task that counts loop iterations, to measure how many hops separate cause and effect.
#pragma once

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <utility>

namespace asyncio::testing {

/// State shared by a ticker and the test body: `ticks` grows by one in every iteration in which
/// the ticker runs. Read it when the cause happens and again when the effect is seen; the
/// difference is the number of hops. The Python twin used to confirm every expectation is
///
///     async def ticker(s):
///         while not s.stop:
///             s.ticks += 1
///             await asyncio.sleep(0)
struct ticker_state {
    int ticks = 0;
    bool stop = false;
};

/// The ticker itself. It only ever does `sleep(0)`, so the ready queue is never empty while it
/// runs and a virtual clock never advances: do not wait for a timer while a ticker runs.
inline task<void> ticker(ticker_state* s) {
    while (!s->stop) {
        ++s->ticks;
        co_await sleep(std::chrono::seconds(0));
    }
}

/// Spawns a ticker and yields twice so that it is ticking before the measurement starts
/// (Python: `tk = create_task(ticker(s)); await sleep(0); await sleep(0)`).
inline task<task_handle<void>> start_ticker(ticker_state* s) {
    auto handle = create_task(ticker(s));
    co_await sleep(std::chrono::seconds(0));
    co_await sleep(std::chrono::seconds(0));
    co_return handle;
}

/// Asks the ticker to finish and waits until it has (Python: `s.stop = True; await tk`).
inline task<void> stop_ticker(ticker_state* s, task_handle<void> handle) {
    s->stop = true;
    co_await handle;
}

/// Counts loop iterations with a plain callback that re-queues itself with call_soon, so it
/// measures sleep(0) itself without relying on it (a ticker task is made of sleep(0)s). Keep it
/// alive until a callback of it has run after `stop` was set. Python twin:
///
///     def arm(c, loop):
///         def tick():
///             if not c.stop:
///                 c.iterations += 1
///                 arm(c, loop)
///         loop.call_soon(tick)
struct iteration_counter {
    int iterations = 0;
    bool stop = false;

    void arm(event_loop& loop) {
        loop.call_soon([this, &loop] {
            if (!stop) {
                ++iterations;
                arm(loop);
            }
        });
    }
};

} // namespace asyncio::testing
