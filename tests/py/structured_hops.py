# Twin of the hop tests in tests/structured_hops_test.cpp: in which loop iteration the awaiter of
# a TaskGroup, wait, shield, timeout and wait_for resumes, counted by a callback that re-arms
# itself with call_soon once per iteration. Run with CPython 3.13.
import asyncio

import virtual_clock

iteration = 0


def tick():
    global iteration
    iteration += 1
    asyncio.get_running_loop().call_soon(tick)


async def child(marks):
    await asyncio.sleep(0)
    marks.append(iteration)
    return 1


async def main():
    asyncio.get_running_loop().call_soon(tick)
    await asyncio.sleep(0)
    marks = []
    async with asyncio.TaskGroup() as tg:
        tg.create_task(child(marks))
    print("task_group: child finished", marks[-1], "awaiter resumed", iteration)
    t = asyncio.create_task(child(marks))
    await asyncio.wait([t])
    print("wait: child finished", marks[-1], "awaiter resumed", iteration)
    start = iteration
    await asyncio.wait([t])
    print("wait on a done task: iterations", iteration - start)
    t = asyncio.create_task(child(marks))
    await asyncio.shield(t)
    print("shield: child finished", marks[-1], "awaiter resumed", iteration)
    async with asyncio.timeout(10):
        await child(marks)
    print("timeout: body finished", marks[-1], "awaiter resumed", iteration)
    await asyncio.wait_for(child(marks), 10)
    print("wait_for: body finished", marks[-1], "awaiter resumed", iteration)


virtual_clock.run(main())
