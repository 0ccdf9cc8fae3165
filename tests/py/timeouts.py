# Twin of tests/timeouts_test.cpp (asyncio.timeout, timeout_at, wait_for), on a virtual clock.
# Run with CPython 3.12+: python3 tests/py/timeouts.py
import asyncio

import virtual_clock


def now():
    return round(asyncio.get_running_loop().time() * 1000)  # ms


async def fast_body():
    async with asyncio.timeout(0.1) as t:
        await asyncio.sleep(0.05)
    print("fast: expired", t.expired(), "at", now())


async def slow_body():
    try:
        async with asyncio.timeout(0.1) as t:
            await asyncio.sleep(1)
    except TimeoutError as e:
        print("slow: TimeoutError", repr(str(e)), "expired", t.expired(), "at", now(),
              "cancelling", asyncio.current_task().cancelling())


async def no_await():
    async with asyncio.timeout(0) as t:
        pass
    print("no await: expired", t.expired())


async def already_expired():
    try:
        async with asyncio.timeout(-1):
            await asyncio.sleep(0)
            print("already expired: not reached")
    except TimeoutError:
        print("already expired: TimeoutError at", now())


async def nested_outer_first():
    try:
        async with asyncio.timeout(0.1) as outer:
            try:
                async with asyncio.timeout(0.5) as inner:
                    await asyncio.sleep(1)
            except asyncio.CancelledError:
                print("nested: inner let CancelledError through, inner expired", inner.expired())
                raise
    except TimeoutError:
        print("nested: outer TimeoutError, outer expired", outer.expired(), "at", now())


async def nested_inner_first():
    async with asyncio.timeout(0.5) as outer:
        try:
            async with asyncio.timeout(0.1):
                await asyncio.sleep(1)
        except TimeoutError:
            print("nested: inner TimeoutError at", now())
        await asyncio.sleep(0.1)
    print("nested: outer expired", outer.expired(), "at", now())


async def swallowed():
    async with asyncio.timeout(0.1) as t:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            print("swallowed: body saw CancelledError")
    print("swallowed: no error, expired", t.expired(), "cancelling",
          asyncio.current_task().cancelling())


async def external_cancel():
    async def body():
        try:
            async with asyncio.timeout(1):
                await asyncio.sleep(2)
        except asyncio.CancelledError:
            print("external: CancelledError passes through")
            raise
    t = asyncio.create_task(body())
    await asyncio.sleep(0.1)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("external: task cancelled", t.cancelled())


async def reschedule():
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(0.1) as t:
        t.reschedule(loop.time() + 0.3)
        await asyncio.sleep(0.2)
        print("reschedule: when", round(t.when() * 1000), "still running at", now())
        t.reschedule(None)
        await asyncio.sleep(1)
        print("reschedule: none, at", now())
    # (asyncio-cpp's scope lives only while the body runs, so the state is checked from inside.)
    try:
        async with asyncio.timeout(0.1) as t:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                try:
                    t.reschedule(None)
                except RuntimeError as e:
                    print("reschedule while expiring:", e)
                raise
    except TimeoutError:
        pass
    async with asyncio.timeout_at(loop.time() + 0.2) as t:
        print("timeout_at: when", round(t.when() * 1000))
    async with asyncio.timeout(None) as t:
        print("timeout(None): when", t.when())


async def worker(log, delay, value, swallow=False):
    try:
        await asyncio.sleep(delay)
        return value
    except asyncio.CancelledError:
        print("worker", value, "cancelled at", now())
        if swallow:
            return -value
        raise
    finally:
        print("worker", value, "cleanup at", now())


async def wait_for_cases():
    print("wait_for result", await asyncio.wait_for(worker(None, 0.05, 1), 0.1), "at", now())
    try:
        await asyncio.wait_for(worker(None, 1, 2), 0.1)
    except TimeoutError:
        print("wait_for TimeoutError at", now())
    print("wait_for swallowed", await asyncio.wait_for(worker(None, 1, 3, True), 0.1))
    started = []

    async def f():
        started.append(1)
        return 4
    try:
        await asyncio.wait_for(f(), 0)
    except TimeoutError:
        print("wait_for 0: TimeoutError, started", bool(started))
    t = asyncio.create_task(f())
    await asyncio.sleep(0)
    print("wait_for 0 on a done task", await asyncio.wait_for(t, 0))

    async def caller():
        await asyncio.wait_for(worker(None, 1, 5), 10)
    c = asyncio.create_task(caller())
    await asyncio.sleep(0.1)
    c.cancel()
    try:
        await c
    except asyncio.CancelledError:
        print("wait_for caller cancelled at", now())


# Ported from CPython 3.13's Lib/test/test_asyncio/test_timeouts.py (same names).
async def foreign_exception_on_timeout():
    async def crash():
        try:
            await asyncio.sleep(1)
        finally:
            1 / 0
    try:
        async with asyncio.timeout(0.01):
            await crash()
    except ZeroDivisionError as e:
        # (raised while handling the TimeoutError: C++ exceptions carry no such chain)
        print("ZeroDivisionError", repr(str(e)), "at", now())


async def timeout_after_cancellation():
    try:
        asyncio.current_task().cancel()
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        print("cancelled, cancelling", asyncio.current_task().cancelling())
    try:
        async with asyncio.timeout(0.0):
            await asyncio.sleep(1)
    except TimeoutError:
        print("cleanup: TimeoutError at", now(), "cancelling",
              asyncio.current_task().cancelling())


async def cancel_in_timeout_after_cancellation():
    try:
        asyncio.current_task().cancel()
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        pass
    try:
        async with asyncio.timeout(1.0) as t:
            asyncio.current_task().cancel()
            await asyncio.sleep(2)
    except asyncio.CancelledError:
        print("cleanup: CancelledError at", now(), "expired", t.expired(), "cancelling",
              asyncio.current_task().cancelling())


async def foreign_cancel_doesnt_timeout_if_not_expired():
    try:
        async with asyncio.timeout(10) as cm:
            asyncio.current_task().cancel()
            await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("CancelledError at", now(), "expired", cm.expired())


async def timeout_taskgroup():
    async def task():
        try:
            await asyncio.sleep(2)
        finally:
            1 / 0
    try:
        async with asyncio.timeout(0.01):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(task())
                try:
                    raise ValueError
                finally:
                    await asyncio.sleep(1)
    except ExceptionGroup as eg:
        print("ExceptionGroup", [type(e).__name__ for e in eg.exceptions], "at", now(),
              "cancelling", asyncio.current_task().cancelling())


async def wait_for_deadline_counts_from_its_start():
    async def work():
        await asyncio.sleep(0.5)
        return "ok"
    w = asyncio.wait_for(work(), 1)  # a coroutine: nothing runs, no deadline yet
    await asyncio.sleep(5)
    print("wait_for created at 0, awaited at", now(), "->", await w, "at", now())


# Each case on a fresh loop whose clock starts at 0, as each C++ test case has.
for case in (fast_body, slow_body, no_await, already_expired, nested_outer_first,
             nested_inner_first, swallowed, external_cancel, reschedule, wait_for_cases,
             foreign_exception_on_timeout, timeout_after_cancellation,
             cancel_in_timeout_after_cancellation, foreign_cancel_doesnt_timeout_if_not_expired,
             timeout_taskgroup, wait_for_deadline_counts_from_its_start):
    print("--", case.__name__)
    virtual_clock.run(case())
