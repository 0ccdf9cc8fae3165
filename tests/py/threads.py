#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/threads_test.cpp: executors, to_thread, run_coroutine_threadsafe."""

import asyncio
import concurrent.futures
import os
import threading
import time

from pysupport import start_ticker, stop_ticker, TickerState


class ManualExecutor(concurrent.futures.Executor):
    """Keeps submitted jobs until run_pending() runs them on the calling thread."""

    def __init__(self):
        self.jobs = []

    def submit(self, fn, *args):
        f = concurrent.futures.Future()
        self.jobs.append((f, fn, args))
        return f

    def run_pending(self):
        jobs, self.jobs = self.jobs, []
        for f, fn, args in jobs:
            if f.set_running_or_notify_cancel():
                f.set_result(fn(*args))


async def hops():
    loop = asyncio.get_running_loop()
    s = TickerState()
    tk = await start_ticker(s)
    ex = ManualExecutor()
    fut = loop.run_in_executor(ex, lambda: 42)
    at = {}

    async def completer():
        await asyncio.sleep(0)
        at["done"] = s.ticks
        ex.run_pending()

    t = asyncio.create_task(completer())
    v = await fut
    print("run_in_executor: the awaiter resumed", s.ticks - at["done"],
          "ticks after the job completed, with", v)
    await t
    await stop_ticker(s, tk)


async def cancel_not_started():
    loop = asyncio.get_running_loop()
    ex = ManualExecutor()
    ran = []
    fut = loop.run_in_executor(ex, lambda: ran.append(1))
    fut.cancel()
    await asyncio.sleep(0)  # the chain's done callback cancels the job
    ex.run_pending()
    print("a job cancelled before it started: ran", len(ran), "times")


async def cancel_running():
    loop = asyncio.get_running_loop()
    started = threading.Event()
    release = threading.Event()
    finished = []

    def job():
        started.set()
        release.wait()
        finished.append(1)
        return 1

    fut = loop.run_in_executor(None, job)
    await loop.run_in_executor(None, started.wait)
    fut.cancel()
    try:
        await fut
    except asyncio.CancelledError:
        print("cancelling the awaiter of a running job: CancelledError")
    release.set()
    await asyncio.sleep(0.05)
    print("the running job still finished:", finished == [1])


async def errors():
    loop = asyncio.get_running_loop()

    def boom():
        raise ValueError("boom")

    try:
        await loop.run_in_executor(None, boom)
    except ValueError as e:
        print("a job that raises: the awaiter gets ValueError", e)
    pool = concurrent.futures.ThreadPoolExecutor()
    pool.shutdown()
    try:
        loop.run_in_executor(pool, print)
    except RuntimeError as e:
        print("executor shut down then used: RuntimeError", e)
    await loop.shutdown_default_executor()
    try:
        loop.run_in_executor(None, print)
    except RuntimeError as e:
        print("default executor after shutdown_default_executor: RuntimeError", e)


async def off_thread():
    main = threading.get_ident()
    other = await asyncio.to_thread(threading.get_ident)
    name = await asyncio.to_thread(lambda: threading.current_thread().name)
    print("to_thread runs off the loop's thread:", other != main, "thread name", name)
    print("default max_workers is min(32, cpus + 4):",
          asyncio.get_running_loop()._default_executor._max_workers == min(32, os.cpu_count() + 4))


def closed_loop():
    loop = asyncio.new_event_loop()
    loop.close()

    async def c():
        return 1

    coro = c()
    try:
        asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError as e:
        print("run_coroutine_threadsafe on a closed loop: RuntimeError", e)
    coro.close()
    try:
        loop.run_in_executor(None, print)
    except RuntimeError as e:
        print("run_in_executor on a closed loop: RuntimeError", e)


def threadsafe_from_thread():
    loop = asyncio.new_event_loop()

    async def add(a, b):
        await asyncio.sleep(0)
        return a + b

    async def forever():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            print("run_coroutine_threadsafe cancel(): the task got CancelledError")
            raise

    out = []

    def other():
        f = asyncio.run_coroutine_threadsafe(add(1, 2), loop)  # before the loop runs
        out.append(f.result(timeout=5))
        g = asyncio.run_coroutine_threadsafe(forever(), loop)
        try:
            g.result(timeout=0.01)
        except TimeoutError:
            out.append("timeout")
        out.append(g.cancel())
        out.append(g.cancelled())
        try:
            g.result()
        except concurrent.futures.CancelledError:
            out.append("cancelled")
        time.sleep(0.05)
        loop.call_soon_threadsafe(loop.stop)

    t = threading.Thread(target=other)
    t.start()
    loop.run_forever()
    t.join()
    print("run_coroutine_threadsafe from another thread:", out)
    loop.close()


asyncio.run(hops())
asyncio.run(cancel_not_started())
asyncio.run(cancel_running())
asyncio.run(errors())
asyncio.run(off_thread())
closed_loop()
threadsafe_from_thread()
