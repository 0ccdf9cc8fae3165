#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/sleep_test.cpp: how many iterations a sleep takes, its timers, errors."""

import asyncio

from pysupport import (IterationCounter, TickerState, run_virtual, show, start_ticker,
                       stop_ticker)


async def ticks_across_sleep(d):
    s = TickerState()
    tk = await start_ticker(s)
    before = s.ticks
    await asyncio.sleep(d)
    elapsed = s.ticks - before
    await stop_ticker(s, tk)
    return elapsed


async def iterations_across_sleep(d):
    c = IterationCounter()
    c.arm(asyncio.get_running_loop())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    before = c.iterations
    await asyncio.sleep(d)
    elapsed = c.iterations - before
    c.stop = True
    await asyncio.sleep(0)
    return elapsed


async def sleep_zero_goes_behind_queued_callbacks():
    log = []
    asyncio.get_running_loop().call_soon(lambda: log.append("X"))
    await asyncio.sleep(0)
    log.append("main")
    return log


async def sleep_nan():
    try:
        await asyncio.sleep(float("nan"))
    except ValueError as e:
        return repr(e)
    return "no error"


def live_timers(loop):
    return sum(1 for h in loop._scheduled if not h.cancelled())


async def cancel_a_sleeper():
    loop = asyncio.get_running_loop()
    log = []

    async def sleeper():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
        log.append("woke up")

    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    while_sleeping = live_timers(loop)
    t.cancel()
    await asyncio.sleep(0)
    return (f"{while_sleeping} timer while sleeping, {live_timers(loop)} live one hop after "
            f"cancel(), log {log}, cancelled {t.cancelled()}, time {loop.time()}")


async def equal_delays(reverse):
    log = []

    async def yield_then_sleep(i, yields):
        for _ in range(yields):
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        log.append(i)

    sleepers = [asyncio.create_task(yield_then_sleep(i, 4 - i if reverse else 0))
                for i in range(5)]
    for t in sleepers:
        await t
    return log


show("sleep(0) ticks:", run_virtual(ticks_across_sleep(0)))
show("sleep(-5) ticks:", run_virtual(ticks_across_sleep(-5)))
for d in (0, 0.0, -5, -0.25):
    show(f"sleep({d}): iterations", run_virtual(iterations_across_sleep(d)))
show("call_soon(X); await sleep(0) gave", run_virtual(sleep_zero_goes_behind_queued_callbacks()))
show("sleep(nan):", run_virtual(sleep_nan()), since=(3, 13))
show("cancel a sleeper:", run_virtual(cancel_a_sleeper()))
# The virtual loop breaks deadline ties in registration order (tests/asyncq/asyncq_virtual.py),
# as CPython's real clock does in practice by moving between the registrations.
show("equal delays wake:", run_virtual(equal_delays(False)))
show("same delay, registered in order 4..0, wake:", run_virtual(equal_delays(True)))
