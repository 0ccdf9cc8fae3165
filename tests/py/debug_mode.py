# SPDX-License-Identifier: MIT
# Twin of tests/debug_mode_test.cpp: CPython 3.13's debug-mode reports (slow callbacks and task
# steps, creation sites, the thread check). The loop's clock is replaced by a counter that the
# callbacks advance, so nothing depends on wall time. Run: python3 tests/py/debug_mode.py
import asyncio
import logging
import os
import re
import threading

records = []


class Capture(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        msg = re.sub(r"/[^ :>]*/", "", msg)  # file names without their folders
        msg = re.sub(r" at 0x[0-9a-f]+", "", msg)
        for line in msg.splitlines():
            if line.startswith(("Executing", "Task exception", "future:", "Object created")):
                records.append(line)


logging.getLogger("asyncio").addHandler(Capture())
logging.getLogger("asyncio").propagate = False

clock = [0.0]


def f():
    clock[0] += 0.15


def g():
    clock[0] += 0.099


async def slow_step():
    clock[0] += 0.125


async def fails():
    raise ValueError("boom")


async def main():
    loop = asyncio.get_running_loop()
    print("get_debug", loop.get_debug(), loop.slow_callback_duration)
    loop.time = lambda: clock[0]
    loop.call_soon(f)
    loop.call_soon(g)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    t = asyncio.create_task(slow_step())
    await t
    err = []
    th = threading.Thread(target=lambda: err.append(_call(loop)))
    th.start()
    th.join()
    print("other thread:", err[0])
    asyncio.create_task(fails())
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _call(loop):
    try:
        loop.call_soon(f)
    except RuntimeError as e:
        return str(e)
    return "no error"


os.environ.pop("PYTHONASYNCIODEBUG", None)
asyncio.run(main(), debug=True)
import gc  # noqa: E402

gc.collect()
for r in records:
    print(r)
