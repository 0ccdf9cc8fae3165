#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/future_test.cpp: prints what asyncio.Future does in each quoted case."""

import asyncio
import gc

from pysupport import new_loop, run_virtual, show, start_ticker, stop_ticker, TickerState


def raised(fn):
    try:
        fn()
    except BaseException as e:  # noqa: B036  (CancelledError is a BaseException)
        return repr(e)
    return "no exception"


def pending_future_queries():
    loop = new_loop()
    f = loop.create_future()
    show("result of a pending future:", raised(f.result))
    show("exception of a pending future:", raised(f.exception))
    f.set_result(1)
    show("second set_result:", raised(lambda: f.set_result(2)))
    g = loop.create_future()
    g.set_exception(ValueError("x"))
    g.exception()
    show("set_result after set_exception:", raised(lambda: g.set_result(2)))
    loop.close()


def cancel_twice():
    loop = new_loop()
    f = loop.create_future()
    first = f.cancel("why")
    second = f.cancel("again")
    g = loop.create_future()
    g.set_result(5)
    show("cancel:", first, second, "cancel of a done future:", g.cancel(), g.cancelled())
    show("cancelled future: result", raised(f.result), "exception", raised(f.exception))
    loop.close()


async def await_done_future():
    s = TickerState()
    tk = await start_ticker(s)
    f = asyncio.get_running_loop().create_future()
    f.set_result(5)
    before = s.ticks
    value = await f
    after = s.ticks
    await stop_ticker(s, tk)
    show("await of a done future:", value, "ticks delta", after - before)


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
    show("future set_result -> waiter resumes at +", at["resumed"] - at["cause"])


def callbacks_go_through_call_soon():
    loop = new_loop()
    log = []
    f = loop.create_future()
    loop.call_soon(lambda: log.append("X"))
    f.add_done_callback(lambda fut: log.append(f"cb1:{fut.result()}"))
    f.add_done_callback(lambda fut: log.append("cb2"))
    f.set_result(7)
    inline = list(log)
    ready = len(loop._ready)
    loop.call_soon(lambda: log.append("Y"))
    loop.call_soon(loop.stop)
    loop.run_forever()
    show("set_result: ran inline", inline, "ready", ready, "run", log)

    log.clear()
    g = loop.create_future()
    g.set_result(1)
    loop.call_soon(lambda: log.append("Z"))
    g.add_done_callback(lambda fut: log.append("late"))
    inline = list(log)
    loop.call_soon(loop.stop)
    loop.run_forever()
    show("add_done_callback on a done future: ran inline", inline, "then", log)

    log.clear()
    h = loop.create_future()

    def removed(fut):
        log.append("removed")

    h.add_done_callback(removed)
    h.add_done_callback(lambda fut: log.append("kept"))
    first = h.remove_done_callback(removed)
    second = h.remove_done_callback(removed)
    h.set_result(3)
    loop.call_soon(loop.stop)
    loop.run_forever()
    show("remove_done_callback:", first, second, "ran", log)
    loop.close()


def never_retrieved_reports():
    loop = new_loop()
    reports = []
    loop.set_exception_handler(lambda lp, ctx: reports.append(ctx["message"]))
    f = loop.create_future()
    f.set_exception(RuntimeError("lost"))
    copy = f
    del copy
    gc.collect()
    after_copy = list(reports)
    del f
    gc.collect()
    show("dropping one of two references:", after_copy, "the last one:", reports)

    reports.clear()
    for read in ("exception", "result"):
        g = loop.create_future()
        g.set_exception(RuntimeError("seen"))
        raised(getattr(g, read))
        del g
        gc.collect()
    show("after exception() or a raising result():", reports)
    loop.close()


def done_callback_on_closed_loop():
    loop = new_loop()
    done = loop.create_future()
    pending = loop.create_future()
    done.set_result(1)
    loop.close()
    show("closed loop: add_done_callback on a done future:",
         raised(lambda: done.add_done_callback(lambda fut: None)))
    pending.add_done_callback(lambda fut: None)
    show("closed loop: on a pending one:", "stored", len(pending._callbacks))


pending_future_queries()
cancel_twice()
run_virtual(await_done_future())
run_virtual(future_hops())
callbacks_go_through_call_soon()
never_retrieved_reports()
done_callback_on_closed_loop()
