# Twin of tests/task_group_test.cpp (asyncio.TaskGroup), each case on a fresh virtual-clock loop.
# Run with CPython 3.12+: python3 tests/py/task_group.py
import asyncio

import virtual_clock


def now():
    return round(asyncio.get_running_loop().time() * 1000)


def describe(eg):
    parts = []
    for e in eg.exceptions:
        if isinstance(e, BaseExceptionGroup):
            parts.append("group[" + describe(e) + "]")
        else:
            parts.append(f"{type(e).__name__}({e})")
    return ", ".join(parts)


async def child(name, delay, fail=None):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(name, "cancelled at", now())
        raise
    if fail:
        print(name, "fails at", now())
        raise ValueError(fail)
    print(name, "done at", now())
    return name


async def all_succeed():
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(child("a", 0.1))
        b = tg.create_task(child("b", 0.2))
        print("body done at", now())
    print("group done at", now(), a.result(), b.result())


async def one_fails():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("a", 0.1, fail="boom"))
            tg.create_task(child("b", 1))
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                print("body cancelled at", now())
                raise
    except ExceptionGroup as eg:
        print("group:", str(eg), "|", describe(eg), "at", now())
    print("cancelling", asyncio.current_task().cancelling())


async def two_fail():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("a", 0.1, fail="x"))
            tg.create_task(child("b", 0.1, fail="y"))
            tg.create_task(child("c", 1))
    except ExceptionGroup as eg:
        print("group:", str(eg), "|", describe(eg))


async def body_fails():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("a", 1))
            await asyncio.sleep(0.1)
            raise ValueError("body")
    except ExceptionGroup as eg:
        print("group:", describe(eg), "at", now())


async def external_cancel():
    async def runner():
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(child("a", 1))
                tg.create_task(child("b", 1))
                await asyncio.sleep(1)
        except asyncio.CancelledError:
            print("runner: CancelledError at", now())
            raise
    t = asyncio.create_task(runner())
    await asyncio.sleep(0.1)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("runner cancelled", t.cancelled())


async def child_cancelled_is_not_error():
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(child("a", 1))
        tg.create_task(child("b", 0.2))
        await asyncio.sleep(0.1)
        a.cancel()
    print("group done at", now(), "a cancelled", a.cancelled())


async def create_after():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("a", 0.1, fail="f"))
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                coro = child("late", 0)
                try:
                    tg.create_task(coro)
                except RuntimeError as e:
                    print("create_task while aborting:", e)
                raise
    except ExceptionGroup:
        pass
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(child("b", 0.1))

        def late(_):
            try:
                tg.create_task(child("later", 0))
            except RuntimeError as e:
                print("create_task once the group is done:", e)
        a.add_done_callback(late)


async def nested():
    try:
        async with asyncio.TaskGroup() as outer:
            outer.create_task(child("o", 1))

            async def inner_group():
                async with asyncio.TaskGroup() as inner:
                    inner.create_task(child("i", 0.1, fail="deep"))
            outer.create_task(inner_group())
    except ExceptionGroup as eg:
        print("group:", describe(eg), "at", now())
        match, rest = eg.split(ValueError)
        print("split:", describe(match), "| rest", rest)


async def in_timeout():
    try:
        async with asyncio.timeout(0.1):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(child("a", 1))
                tg.create_task(child("b", 1))
    except TimeoutError:
        print("timeout around the group at", now(), "cancelling",
              asyncio.current_task().cancelling())
    async def with_timeout():
        async with asyncio.timeout(0.1):
            await asyncio.sleep(1)
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(with_timeout())
            tg.create_task(child("c", 1))
    except ExceptionGroup as eg:
        print("timeout in a child:", describe(eg), "at", now())


async def external_cancel_during_shutdown():
    async def slow_cleanup(name):
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            print(name, "cleaning up at", now())
            await asyncio.sleep(0.2)
            print(name, "cleaned up at", now())
            raise

    async def runner():
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(child("a", 0.1, fail="x"))
                tg.create_task(slow_cleanup("b"))
        except ExceptionGroup as eg:
            print("runner: group", describe(eg), "at", now(), "cancelling",
                  asyncio.current_task().cancelling())
        try:
            await asyncio.sleep(1)
            print("runner: not cancelled")
        except asyncio.CancelledError:
            print("runner: the external cancellation arrives at the next await, at", now())
            raise
    t = asyncio.create_task(runner())
    await asyncio.sleep(0.15)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("runner cancelled", t.cancelled())


for case in (all_succeed, one_fails, two_fail, body_fails, external_cancel,
             child_cancelled_is_not_error, create_after, nested, in_timeout,
             external_cancel_during_shutdown):
    print("--", case.__name__)
    virtual_clock.run(case())
