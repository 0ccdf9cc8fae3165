# Twin of tests/wait_test.cpp (asyncio.shield, wait, as_completed), each case on a fresh
# virtual-clock loop. Run with CPython 3.13: python3 tests/py/wait.py
import asyncio

import virtual_clock


def now():
    return round(asyncio.get_running_loop().time() * 1000)


async def work(name, delay, fail=False):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(name, "cancelled at", now())
        raise
    if fail:
        raise ValueError(name)
    print(name, "done at", now())
    return name


async def shield_cases():
    inner = asyncio.create_task(work("inner", 0.2))

    async def waiter():
        return await asyncio.shield(inner)
    w = asyncio.create_task(waiter())
    await asyncio.sleep(0.1)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        print("waiter cancelled at", now(), "inner done", inner.done())
    print("inner result", await inner, "at", now())
    inner2 = asyncio.create_task(work("inner2", 0.2))
    outer = asyncio.shield(inner2)
    await asyncio.sleep(0.1)
    inner2.cancel()
    try:
        await outer
    except asyncio.CancelledError:
        print("cancelling the inner cancels the shield:", outer.cancelled())
    done = asyncio.create_task(work("done", 0))
    await asyncio.sleep(0.01)
    print("shield of a done task:", await asyncio.shield(done))
    print("shield result", await asyncio.shield(work("lazy", 0.1)), "at", now())


async def wait_cases():
    ts = [asyncio.create_task(work(n, d, f)) for n, d, f in
          (("a", 0.3, False), ("b", 0.1, False), ("c", 0.2, True))]
    done, pending = await asyncio.wait(ts, return_when=asyncio.FIRST_COMPLETED)
    print("first_completed at", now(), "done", [t in done for t in ts], "pending",
          [t in pending for t in ts])
    done, pending = await asyncio.wait(ts, return_when=asyncio.FIRST_EXCEPTION)
    print("first_exception at", now(), "done", [t in done for t in ts])
    done, pending = await asyncio.wait(ts)
    print("all_completed at", now(), "done", [t in done for t in ts])
    ts = [asyncio.create_task(work("d", 1))]
    done, pending = await asyncio.wait(ts, timeout=0.1)
    print("timeout at", now(), "done", len(done), "pending", len(pending), "cancelled",
          ts[0].cancelled())
    ts[0].cancel()
    try:
        await asyncio.wait([])
    except ValueError as e:
        print("empty:", e)
    t = asyncio.create_task(work("e", 0))
    await asyncio.sleep(0.01)
    start = now()
    done, pending = await asyncio.wait([t, t])
    print("already done: done", len(done), "time moved", now() - start)


async def as_completed_cases():
    ts = [asyncio.create_task(work(n, d)) for n, d in (("a", 0.3), ("b", 0.1), ("c", 0.2))]
    async for t in asyncio.as_completed(ts):
        print("async for:", await t, "at", now(), "original", t in ts)
    ts = [work("x", 0.2), work("y", 0.1)]
    for aw in asyncio.as_completed(ts):
        print("for:", await aw, "at", now())
    ts = [asyncio.create_task(work("slow", 1)), asyncio.create_task(work("fast", 0.1))]
    try:
        async for t in asyncio.as_completed(ts, timeout=0.5):
            print("with timeout:", await t, "at", now())
    except TimeoutError:
        print("as_completed TimeoutError at", now())
    ts[0].cancel()


for case in (shield_cases, wait_cases, as_completed_cases):
    print("--", case.__name__)
    virtual_clock.run(case())
