#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/conformance_scheduling_test.cpp: hops between a cause and its effect.

A hop is `ticks when the effect is seen - ticks when the cause happened`; the ticker task bumps
`ticks` once per loop iteration (pysupport.ticker, the twin of tests/support/ticker.hpp).
"""

import asyncio

from pysupport import IterationCounter, TickerState, run_virtual, show, start_ticker, stop_ticker


async def create_task_hops():
    s = TickerState()
    tk = await start_ticker(s)
    at = {}

    async def record_start():
        at["started"] = s.ticks

    cause = s.ticks
    t = asyncio.create_task(record_start())
    inline = "inline" if "started" in at else "not inline"
    await t
    await stop_ticker(s, tk)
    return ("create_task", at["started"] - cause, inline)


async def sleep_zero_hops():
    s = TickerState()
    tk = await start_ticker(s)
    log = []
    asyncio.get_running_loop().call_soon(lambda: log.append("X"))
    before = s.ticks
    await asyncio.sleep(0)
    log.append("main")
    hops = s.ticks - before
    await stop_ticker(s, tk)
    return ("sleep(0)", hops, log)


async def sleep_zero_iterations():
    c = IterationCounter()
    c.arm(asyncio.get_running_loop())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    before = c.iterations
    await asyncio.sleep(0)
    iterations = c.iterations - before
    c.stop = True
    await asyncio.sleep(0)
    return f"sleep(0): iterations {iterations}"


async def awaited_task_hops():
    s = TickerState()
    tk = await start_ticker(s)
    at = {}

    async def finish_after(yields):
        for _ in range(yields):
            await asyncio.sleep(0)
        at["finished"] = s.ticks

    await asyncio.create_task(finish_after(3))
    hops = s.ticks - at["finished"]
    await stop_ticker(s, tk)
    return ("awaited task finishes", hops)


async def future_hops():
    s = TickerState()
    tk = await start_ticker(s)
    f = asyncio.get_running_loop().create_future()
    at = {}

    async def waiter():
        await f
        at["resumed"] = s.ticks

    async def setter():
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        at["cause"] = s.ticks
        f.set_result(1)

    w = asyncio.create_task(waiter())
    st = asyncio.create_task(setter())
    await w
    await st
    await stop_ticker(s, tk)
    return ("future set_result", at["resumed"] - at["cause"])


async def cancel_while_blocked_hops():
    s = TickerState()
    tk = await start_ticker(s)
    f = asyncio.get_running_loop().create_future()
    at = {}

    async def victim():
        try:
            await f
        except asyncio.CancelledError:
            at["caught"] = s.ticks
            raise

    v = asyncio.create_task(victim())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    cause = s.ticks
    v.cancel()
    try:
        await v
    except asyncio.CancelledError:
        pass
    await stop_ticker(s, tk)
    return ("cancel while blocked", at["caught"] - cause, "future cancelled", f.cancelled())


async def gather_last_child_hops():
    s = TickerState()
    tk = await start_ticker(s)
    at = {}

    async def child(yields):
        for _ in range(yields):
            await asyncio.sleep(0)
        at[yields] = s.ticks
        return yields

    a, b = await asyncio.gather(child(1), child(3))
    hops = s.ticks - max(at.values())
    await stop_ticker(s, tk)
    return ("gather last child", hops, a, b)


async def gather_of_finished_hops():
    s = TickerState()
    tk = await start_ticker(s)

    async def value_after_a_yield(v):
        await asyncio.sleep(0)
        return v

    t1 = asyncio.create_task(value_after_a_yield(1))
    t2 = asyncio.create_task(value_after_a_yield(2))
    await t1
    await t2
    before = s.ticks
    values = await asyncio.gather(t1, t2)
    hops = s.ticks - before
    await stop_ticker(s, tk)
    return ("gather of finished tasks", hops, values)


async def sleep_10ms_then_log(log):
    await asyncio.sleep(0.01)
    log.append("A resumed")


async def two_stage_blocked():
    # A callback that blocks the loop for 50 ms (on the virtual clock: moves it by 50 ms), so
    # that A's 10 ms timer and the 20 ms one are collected in the same iteration.
    loop = asyncio.get_running_loop()
    log = []
    a = asyncio.create_task(sleep_10ms_then_log(log))
    await asyncio.sleep(0)

    def cb():
        log.append("cb")
        loop.call_soon(lambda: log.append("next iteration"))

    loop.call_later(0.02, cb)

    def block():
        loop._virtual_now += 0.05

    loop.call_soon(block)
    await a
    await asyncio.sleep(0)
    return ("blocked 50 ms", log)


async def two_stage_equal():
    # The same with call_at on A's exact deadline, registered after A's timer.
    loop = asyncio.get_running_loop()
    log = []
    a = asyncio.create_task(sleep_10ms_then_log(log))
    await asyncio.sleep(0)

    def cb():
        log.append("cb")
        loop.call_soon(lambda: log.append("next iteration"))

    loop.call_at(0.01, cb)
    await a
    await asyncio.sleep(0)
    return ("call_at on the same deadline", log)


async def separate_deadlines():
    loop = asyncio.get_running_loop()
    log = []
    a = asyncio.create_task(sleep_10ms_then_log(log))
    await asyncio.sleep(0)
    loop.call_later(0.02, lambda: log.append("cb"))
    await a
    await asyncio.sleep(0.03)
    return ("separate deadlines", log)


show(run_virtual(create_task_hops()))
show(run_virtual(sleep_zero_hops()))
show(run_virtual(sleep_zero_iterations()))
show(run_virtual(awaited_task_hops()))
show(run_virtual(future_hops()))
show(run_virtual(cancel_while_blocked_hops()))
show(run_virtual(gather_last_child_hops()))
# CPython 3.11 gave 2 hops here (gather scheduled a done callback per finished child).
show(run_virtual(gather_of_finished_hops()), since=(3, 12))
show(run_virtual(two_stage_blocked()))
show(run_virtual(two_stage_equal()))
show(run_virtual(separate_deadlines()))
