# SPDX-License-Identifier: MIT
"""Runtime of the generated Python programs: a virtual-time event loop and the printing helpers.

The loop is CPython's own SelectorEventLoop with two changes that match asyncio-cpp's virtual
clock: time() starts at 0 and jumps to the next timer deadline whenever the loop would block, and
timers with equal deadlines fire in registration order. A loop with nothing ready and no timer
raises Deadlock (the program is rejected by the runner)."""

import asyncio
import gc
import heapq
import itertools
import sys


class Deadlock(Exception):
    pass


class _StableTimer(asyncio.TimerHandle):
    __slots__ = ("_seq",)

    def __init__(self, when, callback, args, loop, context, seq):
        super().__init__(when, callback, args, loop, context)
        self._seq = seq

    def __lt__(self, o):
        return (self._when, self._seq) < (o._when, o._seq)

    def __le__(self, o):
        return (self._when, self._seq) <= (o._when, o._seq)

    def __gt__(self, o):
        return (self._when, self._seq) > (o._when, o._seq)

    def __ge__(self, o):
        return (self._when, self._seq) >= (o._when, o._seq)

    __hash__ = asyncio.TimerHandle.__hash__


class _Selector:
    def __init__(self, sel, loop):
        self._sel = sel
        self._loop = loop

    def select(self, timeout=None):
        ev = self._sel.select(0)
        if ev:
            return ev
        if timeout is None:
            raise Deadlock("nothing ready and no timer pending")
        if timeout > 0 and self._loop._scheduled:
            self._loop._now = max(self._loop._now, self._loop._scheduled[0]._when)
        return ev

    def __getattr__(self, name):
        return getattr(self._sel, name)


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        self._now = 0.0
        self._seq = itertools.count()
        super().__init__()
        self._selector = _Selector(self._selector, self)

    def time(self):
        return self._now

    def call_at(self, when, callback, *args, context=None):
        self._check_closed()
        t = _StableTimer(when, callback, args, self, context, next(self._seq))
        heapq.heappush(self._scheduled, t)
        t._scheduled = True
        return t


OUT = []


def P(*parts):
    OUT.append(" ".join(str(p) for p in parts))


def _quiet_collect():
    """Collects the coroutines a rejected program left behind: closing them runs their except and
    finally blocks, whose lines must not land in the next program's output."""
    global OUT
    OUT = []
    gc.collect()
    OUT = []


class Err(Exception):
    pass


def X(e):
    """An exception as one word, the same spelling as harness.hpp's X()."""
    m = e.args[0] if e.args else ""
    if isinstance(e, Err):
        return f"Err({m})"
    if isinstance(e, asyncio.CancelledError):
        return f"Cancelled({m})"
    for name in ("QueueEmpty", "QueueFull", "QueueShutDown"):
        if type(e) is getattr(asyncio, name, None):
            return name
    if isinstance(e, TimeoutError):
        return "TimeoutError"
    if isinstance(e, asyncio.InvalidStateError):
        return f"InvalidState({m})"
    if isinstance(e, ValueError):
        return "ValueError"
    if isinstance(e, RuntimeError):
        return f"RuntimeError({m})"
    return f"{type(e).__name__}({m})"


def R(x):
    return X(x) if isinstance(x, BaseException) else str(x)


def RV(xs):
    return " ".join(R(x) for x in xs)


def D(t):
    if not t.done():
        return "pending"
    if t.cancelled():
        return "cancelled"
    e = t.exception()
    return f"exc {X(e)}" if e is not None else f"result {t.result()}"


def T():
    return int(asyncio.get_running_loop().time())


def live_timers():
    return sum(1 for h in asyncio.get_running_loop()._scheduled if not h._cancelled)


async def _entry(main, setup):
    setup()
    try:
        r = await main(0)
        P("main returned", r)
    except BaseException as e:  # noqa: B902 - the twin catches everything too
        P("main raised", X(e))
    for _ in range(100):
        if len(asyncio.all_tasks()) <= 1 and live_timers() == 0:
            break
        await asyncio.sleep(1)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    left = len(asyncio.all_tasks()) - 1
    P("end pending", left)
    return left


def run_program(main, setup):
    """Runs one program; returns (lines, verdict) where verdict is 'ok' or why it was rejected."""
    global OUT
    OUT = []
    lines = OUT
    try:
        with asyncio.Runner(loop_factory=VirtualLoop) as runner:
            left = runner.run(_entry(main, setup))
        verdict = "pending tasks at the end" if left else "ok"
    except Deadlock:
        verdict = "deadlock"
    except asyncio.CancelledError:
        verdict = "the entry task itself was cancelled"
    _quiet_collect()
    return lines, verdict
