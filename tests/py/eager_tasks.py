# Twin of tests/eager_tasks_test.cpp: 3.12's eager_task_factory (Python 3.13 decides the order and
# the names). Run with CPython 3.13: python3 tests/py/eager_tasks.py
import asyncio

import virtual_clock


async def child(n):
    print("child", n, "start", asyncio.current_task().get_name())
    await asyncio.sleep(0)
    print("child", n, "end")
    return n


async def quick(n):
    print("quick", n, asyncio.current_task().get_name())
    return n


async def failing():
    raise ValueError("eager")


async def main():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    t = asyncio.create_task(child(1), name="c1")
    print("created, done", t.done(), "current", asyncio.current_task().get_name(),
          "name", t.get_name())
    q = asyncio.create_task(quick(2))
    print("quick created, done", q.done(), q.result())
    print(await asyncio.gather(quick(3), child(4), quick(5)))
    await t
    f = asyncio.create_task(failing())
    print("failing: done", f.done(), repr(f.exception()))
    loop.set_task_factory(None)
    q = asyncio.create_task(quick(6))
    print("default factory: done", q.done())
    await q


virtual_clock.run(main())
