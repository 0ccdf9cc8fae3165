# SPDX-License-Identifier: MIT
"""A CPython event loop on a virtual clock, for the twins of asyncio-cpp's virtual-time tests.

time() starts at 0 and moves only when the loop would block: its selector "waits" by jumping to
the next timer deadline. Timers with equal deadlines fire in the order they were scheduled (the
contract asyncio-cpp keeps; CPython's heap leaves ties unordered).

    import virtual_clock
    virtual_clock.run(main())
"""

import asyncio
import heapq
import itertools
import selectors


class _Selector(selectors.DefaultSelector):
    def __init__(self, loop):
        super().__init__()
        self._loop = loop

    def select(self, timeout=None):
        if timeout is not None and timeout > 0:
            self._loop.now += timeout
        return super().select(0)


class _StableTimer(asyncio.TimerHandle):
    __slots__ = ("_seq",)

    def __init__(self, when, callback, args, loop, context, seq):
        super().__init__(when, callback, args, loop, context)
        self._seq = seq

    def __lt__(self, other):
        return (self._when, self._seq) < (other._when, other._seq)

    def __le__(self, other):
        return (self._when, self._seq) <= (other._when, other._seq)

    def __gt__(self, other):
        return (self._when, self._seq) > (other._when, other._seq)

    def __ge__(self, other):
        return (self._when, self._seq) >= (other._when, other._seq)


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        self.now = 0.0
        self._seq = itertools.count()
        super().__init__(_Selector(self))
        self._clock_resolution = 1e-9

    def time(self):
        return self.now

    def call_at(self, when, callback, *args, context=None):
        timer = _StableTimer(when, callback, args, self, context, next(self._seq))
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer


def run(main):
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
