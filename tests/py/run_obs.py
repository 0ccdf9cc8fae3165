#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/run_test.cpp: what asyncio.run does with main, errors and leftovers."""

import asyncio
import gc

from pysupport import VirtualTimeLoop, show


def run(coro, reports=None):
    """asyncio.run on a virtual-time loop whose exception handler appends to `reports`."""
    def factory():
        loop = VirtualTimeLoop()
        if reports is not None:
            loop.set_exception_handler(lambda lp, ctx: reports.append(
                (ctx["message"], repr(ctx.get("exception")),
                 (ctx.get("task") or ctx.get("future")).get_name())))
        return loop

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def outcome(fn):
    try:
        return ("returns", fn())
    except BaseException as e:  # noqa: B036
        return ("raised", repr(e))


async def main_fails():
    await asyncio.sleep(0)
    raise ValueError("main failed")


async def cancels_itself():
    asyncio.current_task().cancel()
    await asyncio.sleep(0)


async def nested_run():
    async def inner():
        return 1

    coro = inner()
    try:
        asyncio.run(coro)
    except RuntimeError as e:
        coro.close()
        return repr(e)
    return "no error"


async def background(tag, log):
    log.append(f"{tag} started")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        log.append(f"{tag} cancelled at time {asyncio.get_running_loop().time()}")
        raise
    finally:
        log.append(f"{tag} finally")
    log.append(f"{tag} woke up")


async def spawn_and_return(log):
    asyncio.create_task(background("late", log))
    return 42


async def spawn_yield_and_return(log):
    asyncio.create_task(background("early", log))
    await asyncio.sleep(0)
    log.append("main done")


async def leaves_a_failing_cleanup():
    async def fails_during_cleanup():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed")

    asyncio.create_task(fails_during_cleanup())
    await asyncio.sleep(0)


async def fails_unobserved():
    await asyncio.sleep(0)
    raise ValueError("lost")


async def drops_a_failing_task():
    asyncio.create_task(fails_unobserved())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gc.collect()


async def names_and_start_time():
    start = asyncio.get_running_loop().time()

    async def nothing():
        pass

    child = asyncio.create_task(nothing())
    await child
    await asyncio.sleep(5)
    return (asyncio.current_task().get_name(), child.get_name(), f"from {start}")


reports = []
show("main raises:", outcome(lambda: run(main_fails(), reports)), "reports:", reports)
show("main cancels itself:", outcome(lambda: run(cancels_itself())))
show("nested run:", run(nested_run()))
log = []
show("task created just before main returns: returns", run(spawn_and_return(log)), log)
log = []
run(spawn_yield_and_return(log))
show("task blocked in a sleep:", log)
reports = []
run(leaves_a_failing_cleanup(), reports)
show("failing cleanup during shutdown:", reports)
reports = []
run(drops_a_failing_task(), reports)
show("task exception never retrieved:", reports)
# Task names count per process: the numbers depend on how many tasks this script made before.
show("task names, first run:", run(names_and_start_time()))
show("task names, second run:", run(names_and_start_time()))
