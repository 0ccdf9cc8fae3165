# Twin of the gather cancel() tests in tests/gather_test.cpp (issue 10, items 3 and 26).
# Run with CPython 3.12+: python3 tests/py/issue10_gather_cancel.py
import asyncio


async def v(x, d):
    await asyncio.sleep(d)
    return x


async def now(x):
    return x


async def cancel_api():
    t = asyncio.create_task(v(1, 0))
    await asyncio.sleep(0.01)
    g = asyncio.gather(t, v(2, 0.1))
    print("g.done", g.done(), "g.cancelled", g.cancelled())
    print("results", await g)
    print("after: cancel ->", g.cancel(), "done", g.done(), "cancelled", g.cancelled())
    g2 = asyncio.gather(v(3, 1), v(4, 1))
    print("g2.cancel('m') ->", g2.cancel("m"), "done", g2.done())
    print("g2.cancel('n') ->", g2.cancel("n"))
    try:
        await g2
    except asyncio.CancelledError as e:
        print("g2 raised", e.args, "done", g2.done(), "cancelled", g2.cancelled())
    g3 = asyncio.gather(v(5, 1), v(6, 1), return_exceptions=True)
    await asyncio.sleep(0)
    print("g3.cancel ->", g3.cancel())
    try:
        print(await g3)
    except asyncio.CancelledError as e:
        print("g3 raised", e.args)
    a = asyncio.create_task(v(7, 0))
    g4 = asyncio.gather(a, v(8, 0.5))
    await asyncio.sleep(0.6)
    print("g4 done", g4.done(), "cancel ->", g4.cancel(), "results", await g4)
    # Every child done, the gather not yet: cancel() finds no child to cancel.
    t5 = asyncio.create_task(now(9))
    g5 = asyncio.gather(t5)
    await asyncio.sleep(0)
    print("g5 done", g5.done(), "child done", t5.done(), "cancel ->", g5.cancel())
    print("g5 results", await g5)


async def swallow():
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        print("swallow saw", e.args)
    return "s"


async def normal():
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        print("normal saw", e.args)
        raise


async def waiter(children):
    try:
        await asyncio.gather(*[c() for c in children])
    except asyncio.CancelledError as e:
        print("waiter saw", e.args)


async def awaiter_cancelled():
    for children in ([swallow, normal], [normal, swallow], [swallow, swallow]):
        w = asyncio.create_task(waiter(children))
        await asyncio.sleep(0.01)
        print("cancel ->", w.cancel("stop"))
        await asyncio.sleep(0.01)
        print("w done", w.done(), "cancelled", w.cancelled())


asyncio.run(cancel_api())
asyncio.run(awaiter_cancelled())
