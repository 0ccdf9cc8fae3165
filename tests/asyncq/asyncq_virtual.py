#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the seed program asyncq.py on a virtual-time event loop.

    python3 asyncq_virtual.py [-p NPROD] [-c NCON] [--seed SEED]

The reference transcript for `asyncq --virtual-time` (examples/asyncq.cpp): the coroutines come
unchanged from asyncq.py (imported from this directory); only the loop differs from a plain
`asyncio.run`, in the two ways asyncio-cpp's virtual clock differs from CPython's real one:

* time() is virtual: it starts at 0 and, whenever the loop would block (nothing ready), jumps
  straight to the next timer deadline instead of sleeping. Nothing else moves it, so every sleep
  ends at an exact, reproducible loop time whatever the machine's load.
* Timers with equal deadlines fire in the order they were scheduled. CPython's timer heap
  compares deadlines only, so equal deadlines may come out in any order; here each timer also
  carries a sequence number (asyncio-cpp's timer heap breaks ties the same way).

The item bytes (os.urandom) and the timings printed (time.perf_counter) stay real; the
comparison (compare.py) masks them.

Requires Python 3.7 or later (asyncio.Runner's loop_factory from 3.11; an event loop policy
before that). Checked with 3.7 to 3.13: all print the same transcript for the same seed.
"""

import argparse
import asyncio
import heapq
import itertools
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncq  # noqa: E402  (the seed program, next to this file)


class _StableTimerHandle(asyncio.TimerHandle):
    """A TimerHandle ordered by (deadline, sequence number): ties fire in scheduling order."""

    __slots__ = ("_seq",)

    def __init__(self, when, callback, args, loop, context, seq):
        super().__init__(when, callback, args, loop, context)
        self._seq = seq

    def _key(self):
        return (self._when, self._seq)

    # heapq only uses <, but keep the four orderings consistent.
    def __lt__(self, other):
        if isinstance(other, _StableTimerHandle):
            return self._key() < other._key()
        return super().__lt__(other)

    def __le__(self, other):
        if isinstance(other, _StableTimerHandle):
            return self._key() <= other._key()
        return super().__le__(other)

    def __gt__(self, other):
        if isinstance(other, _StableTimerHandle):
            return self._key() > other._key()
        return super().__gt__(other)

    def __ge__(self, other):
        if isinstance(other, _StableTimerHandle):
            return self._key() >= other._key()
        return super().__ge__(other)

    # TimerHandle defines __eq__, which would otherwise leave the class unhashable.
    __hash__ = asyncio.TimerHandle.__hash__


class _VirtualSelector:
    """Wraps the loop's selector: a select() that would wait advances the virtual clock instead."""

    def __init__(self, selector, loop):
        self._selector = selector
        self._loop = loop

    def select(self, timeout=None):
        # Still poll, so that the loop's self-pipe (call_soon_threadsafe, signals) works.
        events = self._selector.select(0)
        if events:
            return events
        loop = self._loop
        if timeout is None:
            # A real loop would block forever: every task waits for something no one will do.
            raise RuntimeError(
                "event loop deadlock: nothing is ready and no timer is pending")
        if timeout > 0 and loop._scheduled:
            # _run_once dropped cancelled timers from the head: this is the next deadline. Jump
            # to it exactly rather than adding the (float) timeout.
            loop._virtual_now = max(loop._virtual_now, loop._scheduled[0]._when)
        return events

    def __getattr__(self, name):
        return getattr(self._selector, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A SelectorEventLoop on a virtual clock with stable ordering of equal deadlines."""

    def __init__(self):
        self._virtual_now = 0.0
        self._timer_seq = itertools.count()
        super().__init__()
        self._selector = _VirtualSelector(self._selector, self)

    def time(self):
        return self._virtual_now

    # BaseEventLoop.call_at (CPython 3.7-3.13), with the stable handle. call_later and sleep
    # come through here.
    def call_at(self, when, callback, *args, context=None):
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer = _StableTimerHandle(when, callback, args, self, context, next(self._timer_seq))
        if timer._source_traceback:
            del timer._source_traceback[-1]
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer


def run_virtual(coro):
    """asyncio.run(coro) on a fresh VirtualTimeLoop."""
    if hasattr(asyncio, "Runner"):  # 3.11+
        with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
            return runner.run(coro)

    class _Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            return VirtualTimeLoop()

    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(_Policy())
    try:
        return asyncio.run(coro)
    finally:
        asyncio.set_event_loop_policy(old)


def main(argv=None):
    # The seed's __main__ block, with --seed in place of the fixed random.seed(444).
    parser = argparse.ArgumentParser()
    parser.add_argument("-p", "--nprod", type=int, default=5)
    parser.add_argument("-c", "--ncon", type=int, default=10)
    parser.add_argument("--seed", type=int, default=444)
    ns = parser.parse_args(argv)
    random.seed(ns.seed)
    start = time.perf_counter()
    run_virtual(asyncq.main(ns.nprod, ns.ncon))
    elapsed = time.perf_counter() - start
    print(f"Program completed in {elapsed:0.5f} seconds.")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
