# Twin of the cases of tests/task_group_test.cpp ported from CPython 3.13's
# Lib/test/test_asyncio/test_taskgroups.py (same names), each on a fresh virtual-clock loop.
# Kept apart from task_group.py: a TaskGroup cancels its children in the order of a set, which
# follows the objects' addresses, so code added to that script reorders its output.
# Run with CPython 3.13: python3 tests/py/task_group_ports.py
import asyncio

import virtual_clock


def describe(eg):
    return ", ".join(f"{type(e).__name__}({e})" for e in eg.exceptions)


async def raise_after(t, e):
    await asyncio.sleep(t)
    raise e()


async def cancelling_level_preserved():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(raise_after(0.0, RuntimeError))
    except* RuntimeError as eg:
        print("caught", describe(eg))
    print("cancelling", asyncio.current_task().cancelling())


async def nested_groups_both_cancelled():
    try:
        async with asyncio.TaskGroup() as outer_tg:
            try:
                async with asyncio.TaskGroup() as inner_tg:
                    inner_tg.create_task(raise_after(0, RuntimeError))
                    outer_tg.create_task(raise_after(0, ValueError))
            except* RuntimeError as eg:
                print("inner caught", describe(eg))
            print("cancelling after inner", asyncio.current_task().cancelling())
    except* ValueError as eg:
        print("outer caught", describe(eg))
    print("cancelling", asyncio.current_task().cancelling())


async def error_and_cancel():
    event = asyncio.Event()

    async def raise_error():
        event.set()
        await asyncio.sleep(0)
        raise RuntimeError()

    async def inner():
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(raise_error())
                await asyncio.sleep(1)
                print("not reached: sleep in group")
        except* RuntimeError:
            print("inner caught RuntimeError, cancelling", asyncio.current_task().cancelling())
        await asyncio.sleep(1)
        print("not reached: sleep after group")

    t = asyncio.create_task(inner())
    await event.wait()
    print("t cancelling", t.cancelling())
    t.cancel()
    print("t cancelling", t.cancelling())
    try:
        await t
    except asyncio.CancelledError:
        print("t cancelled", t.cancelled())


async def no_create_task_after_failure():
    async def coro1():
        await asyncio.sleep(0.001)
        1 / 0

    async def coro2(g):
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            try:
                g.create_task(coro1())
            except RuntimeError as e:
                print("RuntimeError", e)
    try:
        async with asyncio.TaskGroup() as g:
            g.create_task(coro1())
            g.create_task(coro2(g))
    except ExceptionGroup as eg:
        print("caught", [type(e).__name__ for e in eg.exceptions])


for case in (cancelling_level_preserved, nested_groups_both_cancelled, error_and_cancel,
             no_create_task_after_failure):
    print("--", case.__name__)
    virtual_clock.run(case())
