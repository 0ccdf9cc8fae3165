// SPDX-License-Identifier: MIT
// Conformance with asyncio's scheduling: the hop table of asyncio-semantics.md 1.8, measured with
// a ticker task and confirmed against CPython 3.13.
#include "support/catch.hpp"
#include "support/test_support.hpp"
#include "support/ticker.hpp"

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

// Every expectation below is printed by tests/py/hops.py, a line-by-line Python twin of these
// tests (`PYENV_VERSION=3.13.0 python3 tests/py/hops.py`; the CTest case asyncio.py.hops checks it
// against tests/py/hops.expected). A hop is
// `ticks when the effect is seen - ticks when the cause happened`; the ticker bumps `ticks` once
// per loop iteration. The rows of the table tested in a per-header file are not repeated here:
// sleep(0) (sleep_test.cpp), future set_result (future_test.cpp), a gather of finished children
// (gather_test.cpp); hops.py still prints them.

namespace {

using namespace std::chrono_literals;
using asyncio::cancelled_error;
using asyncio::create_task;
using asyncio::future;
using asyncio::gather;
using asyncio::get_running_loop;
using asyncio::loop_clock;
using asyncio::sleep;
using asyncio::task;
using asyncio::testing::run_virtual;
using asyncio::testing::start_ticker;
using asyncio::testing::stop_ticker;
using asyncio::testing::ticker_state;

struct hop_result {
    int hops = -1;
    bool started_inline = true;
};

struct cancel_hops {
    int hops = -1;
    bool awaited_future_cancelled = false;
    bool victim_cancelled = false;
    bool awaiter_saw_cancelled_error = false;
};

struct gather_hops {
    int hops = -1;
    int first = 0;
    int second = 0;
};

} // namespace

static task<void> record_start(ticker_state* s, int* started_at) {
    *started_at = s->ticks;
    co_return;
}

static task<hop_result> create_task_hops() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    int started_at = -100;
    hop_result r;
    const int cause = s.ticks;
    auto t = create_task(record_start(&s, &started_at));
    r.started_inline = started_at != -100;
    co_await t;
    r.hops = started_at - cause;
    co_await stop_ticker(&s, std::move(tk));
    co_return r;
}

TEST_CASE("conformance scheduling: create_task starts the body one iteration later",
          "[conformance][scheduling]") {
    // CPython 3.13: ('create_task', 1, 'not inline').
    const auto r = run_virtual(create_task_hops());
    CHECK(!r.started_inline);
    CHECK(r.hops == 1);
}

static task<void> finish_after(ticker_state* s, int yields, int* finished_at) {
    for (int i = 0; i < yields; ++i) {
        co_await sleep(0s);
    }
    *finished_at = s->ticks;
}

static task<int> awaited_task_hops() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    int finished_at = -100;
    auto t = create_task(finish_after(&s, 3, &finished_at));
    co_await t;
    const int hops = s.ticks - finished_at;
    co_await stop_ticker(&s, std::move(tk));
    co_return hops;
}

TEST_CASE("conformance scheduling: a task awaiting a task resumes one iteration after it "
          "finishes",
          "[conformance][scheduling]") {
    // CPython 3.13: ('awaited task finishes', 1).
    CHECK(run_virtual(awaited_task_hops()) == 1);
}

static task<void> blocked_victim(future<int> f, ticker_state* s, int* caught_at) {
    try {
        static_cast<void>(co_await f);
    } catch (const cancelled_error&) {
        *caught_at = s->ticks;
        throw;
    }
}

static task<cancel_hops> cancel_while_blocked_hops() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    int caught_at = -100;
    auto f = get_running_loop().create_future<int>();
    auto victim = create_task(blocked_victim(f, &s, &caught_at));
    co_await sleep(0s);
    co_await sleep(0s);
    const int cause = s.ticks;
    victim.cancel();
    cancel_hops r;
    try {
        co_await victim;
    } catch (const cancelled_error&) {
        r.awaiter_saw_cancelled_error = true;
    }
    r.hops = caught_at - cause;
    r.awaited_future_cancelled = f.cancelled();
    r.victim_cancelled = victim.cancelled();
    co_await stop_ticker(&s, std::move(tk));
    co_return r;
}

TEST_CASE("conformance scheduling: cancel delivers cancelled_error one iteration later to a task "
          "blocked on a future",
          "[conformance][scheduling]") {
    // CPython 3.13: ('cancel while blocked', 1, 'future cancelled', True).
    const auto r = run_virtual(cancel_while_blocked_hops());
    CHECK(r.hops == 1);
    CHECK(r.awaited_future_cancelled);
    CHECK(r.victim_cancelled);
    CHECK(r.awaiter_saw_cancelled_error);
}

static task<int> gather_child(ticker_state* s, int yields, int* finished_at) {
    for (int i = 0; i < yields; ++i) {
        co_await sleep(0s);
    }
    *finished_at = s->ticks;
    co_return yields;
}

static task<gather_hops> gather_last_child_hops() {
    ticker_state s;
    auto tk = co_await start_ticker(&s);
    int first_finished = -100;
    int second_finished = -100;
    auto [a, b] = co_await gather(gather_child(&s, 1, &first_finished),
                                  gather_child(&s, 3, &second_finished));
    gather_hops r;
    r.hops = s.ticks - std::max(first_finished, second_finished);
    r.first = a;
    r.second = b;
    co_await stop_ticker(&s, std::move(tk));
    co_return r;
}

TEST_CASE("conformance scheduling: gather resumes its awaiter two iterations after the last "
          "child finishes",
          "[conformance][scheduling]") {
    // CPython 3.13 (and 3.11): ('gather last child', 2, 1, 3).
    const auto r = run_virtual(gather_last_child_hops());
    CHECK(r.hops == 2);
    CHECK(r.first == 1);
    CHECK(r.second == 3);
}

static task<void> sleep_10ms_then_log(std::vector<std::string>* log) {
    co_await sleep(10ms);
    log->emplace_back("A resumed");
}

static task<std::vector<std::string>> two_stage_sleep_same_collection() {
    std::vector<std::string> log;
    auto& loop = get_running_loop();
    auto a = create_task(sleep_10ms_then_log(&log));
    co_await sleep(0s); // A has run its first step: its timer is due at 10 ms
    // Same deadline, registered after A's timer, so both are collected in one iteration N with
    // A's timer first. A's timer only completes a future; A itself runs in N + 1.
    loop.call_at(loop_clock::time_point(10ms), [&log, &loop] {
        log.emplace_back("cb");
        loop.call_soon([&log] { log.emplace_back("next iteration"); });
    });
    co_await a;
    co_return log;
}

TEST_CASE("conformance scheduling: a sleep resumes one iteration after its timer is collected",
          "[conformance][scheduling]") {
    // CPython 3.13: with A sleeping 0.01 s, call_later(0.02, cb) and the loop blocked 50 ms so
    // both timers are collected together: ['cb', 'A resumed', 'next iteration']. With call_at on
    // A's exact deadline instead of blocking, the same.
    const std::vector<std::string> expected{"cb", "A resumed", "next iteration"};
    CHECK(run_virtual(two_stage_sleep_same_collection()) == expected);
}

static task<std::vector<std::string>> sleep_with_separate_deadlines() {
    std::vector<std::string> log;
    auto& loop = get_running_loop();
    auto a = create_task(sleep_10ms_then_log(&log));
    co_await sleep(0s);
    loop.call_later(20ms, [&log] { log.emplace_back("cb"); });
    co_await a;
    co_await sleep(30ms);
    co_return log;
}

TEST_CASE("conformance scheduling: a sleep due before another timer resumes before it",
          "[conformance][scheduling]") {
    // CPython 3.13: ('separate deadlines', ['A resumed', 'cb']). The virtual clock stops at
    // 10 ms first, so A resumes before the 20 ms timer is collected.
    const std::vector<std::string> expected{"A resumed", "cb"};
    CHECK(run_virtual(sleep_with_separate_deadlines()) == expected);
}
