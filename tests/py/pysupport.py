# SPDX-License-Identifier: MIT
"""Shared pieces of the CPython twin scripts in tests/py/: a virtual-clock loop, the ticker.

The scripts print the observations that the C++ tests quote in their `// py:` comments;
run_py_checks.py compares their output with the `<script>.expected` file next to each one.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asyncq"))
from asyncq_virtual import VirtualTimeLoop  # noqa: E402  (tests/asyncq/asyncq_virtual.py)


class HeapqOrderLoop(VirtualTimeLoop):
    """The virtual clock, but CPython's own call_at: equal deadlines come out in heapq order."""

    call_at = asyncio.BaseEventLoop.call_at


def new_loop(stable=True):
    """A fresh virtual-time loop (set as the current loop, not running)."""
    loop = VirtualTimeLoop() if stable else HeapqOrderLoop()
    asyncio.set_event_loop(loop)
    return loop


def run_virtual(coro):
    """asyncio.run(coro) on a fresh virtual-time loop (Python 3.11+)."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


def show(*parts, since=None):
    """Prints one observation; with since=(3, 12) only on that interpreter or a newer one.

    A line printed only from some version on is marked `@3.12+ ` in the expected file, and
    run_py_checks.py leaves it out of the comparison (and reports a skip) on older ones.
    """
    if since is not None and sys.version_info[:2] < since:
        return
    print(*parts, flush=True)


class TickerState:
    def __init__(self):
        self.ticks = 0
        self.stop = False


async def ticker(s):
    # Twin of tests/support/ticker.hpp: one tick per loop iteration in which it runs.
    while not s.stop:
        s.ticks += 1
        await asyncio.sleep(0)


async def start_ticker(s):
    tk = asyncio.create_task(ticker(s))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return tk


async def stop_ticker(s, tk):
    s.stop = True
    await tk


class IterationCounter:
    """Twin of testing::iteration_counter: counts iterations with a self-rearming callback."""

    def __init__(self):
        self.iterations = 0
        self.stop = False

    def arm(self, loop):
        def tick():
            if not self.stop:
                self.iterations += 1
                self.arm(loop)

        loop.call_soon(tick)
