#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/async_generator_test.cpp: aclose after an ignored GeneratorExit,
finalization of generators dropped on a live loop."""

import asyncio
import gc
import warnings

from pysupport import VirtualTimeLoop, show


def run(main, reports):
    def factory():
        loop = VirtualTimeLoop()
        loop.set_exception_handler(lambda lp, ctx: reports.append(
            (ctx["message"].split(" <")[0], repr(ctx.get("exception")))))
        return loop

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def ignores_exit(log, keep_ignoring):
    while True:
        try:
            yield 1
        except GeneratorExit:
            log.append("caught GeneratorExit")
            if not keep_ignoring[0]:
                raise


async def ignore_exit_main(log):
    keep_ignoring = [True]
    gen = ignores_exit(log, keep_ignoring)
    await gen.__anext__()
    try:
        await gen.aclose()
        log.append("aclose returned")
    except RuntimeError as e:
        log.append(f"RuntimeError: {e}")
    keep_ignoring[0] = False
    try:
        await gen.aclose()
        log.append("second aclose returned")
    except StopAsyncIteration as e:
        log.append(f"second aclose: {e!r}")
    log.append(f"next gave {await gen.__anext__()}")
    del gen  # closed at once, without the loop's finalizer hook: it does not enter the body
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)


kept = []


async def ignore_exit_kept_main(log):
    keep_ignoring = [True]
    gen = ignores_exit(log, keep_ignoring)
    kept.append((gen, keep_ignoring))
    await gen.__anext__()
    try:
        await gen.aclose()
    except RuntimeError as e:
        log.append(repr(e))


log, reports = [], []
run(ignore_exit_main(log), reports)
show("ignored GeneratorExit:", log, "reports", reports)
log, reports = [], []
run(ignore_exit_kept_main(log), reports)
show("kept past main:", log, "reports", reports)
kept[0][1][0] = False  # so that the synchronous close at the drop below goes quietly
kept.clear()


async def tracked_values():
    for i in range(5):
        await asyncio.sleep(1)
        yield i


def closed_loop_reports(make_main):
    """Runs make_main(loop) until it completes, then closes and drops the loop: the reports."""
    found = []
    loop = VirtualTimeLoop()
    loop.set_exception_handler(lambda lp, ctx: found.append(ctx["message"]))
    loop.run_until_complete(make_main(loop))
    loop.close()
    del loop
    gc.collect()
    return found


async def drop_before_loop_dies(holder):
    await holder[0].__anext__()
    holder[0] = None  # handed to the loop's finalizer hook


# The finalizer hook's aclose() coroutine never runs there: CPython warns about it on stderr.
warnings.filterwarnings("ignore", "coroutine method 'aclose'")
holder = [tracked_values()]
reports = closed_loop_reports(lambda loop: drop_before_loop_dies(holder))
show("dropped just before the loop goes:", reports)


async def consume_tracked_forever(log):
    gen = tracked_values()
    await gen.__anext__()
    log.append("inside the generator's sleep")
    await gen.__anext__()  # the loop is closed while the generator sleeps here
    log.append("not reached")


log, consumers = [], []


def abandon(loop):
    consumers.append(loop.create_task(consume_tracked_forever(log)))
    return asyncio.sleep(1.5)


reports = closed_loop_reports(abandon)
consumers.clear()
gc.collect()
show("abandoned with its loop:", log, reports)


async def slow_logged(log):
    try:
        for i in range(3):
            await asyncio.sleep(1)
            log.append(f"yield {i}")
            yield i
    except GeneratorExit:
        log.append(f"GeneratorExit@{asyncio.get_running_loop().time():.0f}")
        raise
    except asyncio.CancelledError:
        log.append(f"CancelledError@{asyncio.get_running_loop().time():.0f}")
        raise
    finally:
        log.append("finally")


async def consume_one(aw, log):
    v = await aw
    log.append(f"consumer got {v}")


async def drop_during_next_main(log):
    gen = slow_logged(log)
    consumer = asyncio.create_task(consume_one(gen.__anext__(), log))
    await asyncio.sleep(0)  # the consumer is inside the generator's sleep
    log.append("dropping")
    del gen
    gc.collect()
    await consumer
    log.append("consumer done")
    for _ in range(3):
        await asyncio.sleep(0)
    log.append("main end")


log, reports = [], []
run(drop_during_next_main(log), reports)
show("dropped inside next():", log, "reports", reports)


async def cancel_closer_main(log):
    gen = slow_logged(log)
    await gen.__anext__()
    del gen  # the finalizer hook creates the closing task in the next iteration
    gc.collect()
    await asyncio.sleep(0)
    closers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    log.append(f"closers {len(closers)}")
    for t in closers:
        t.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for t in closers:
        log.append(f"closer cancelled {t.cancelled()}")
    log.append("main end")


log, reports = [], []
run(cancel_closer_main(log), reports)
show("closer cancelled before it starts:", log, "reports", reports)
