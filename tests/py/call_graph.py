# SPDX-License-Identifier: MIT
# CPython 3.14 twin of tests/call_graph_test.cpp's "call graph: a task group, a gather and an
# inline chain print as CPython 3.14 prints them": a task group whose body gathers a three-level
# inline chain and a reporter, which prints every task's call graph. Needs CPython 3.14
# (asyncio.format_call_graph); run_py_checks.py skips it on older interpreters. 3.14 cannot be
# installed here, so call_graph.expected was written by reading CPython 3.14's
# Lib/asyncio/graph.py (format_call_graph, render_level and _build_graph_for_future), tasks.py
# (gather adds each child to the awaited_by of the task that calls gather) and taskgroups.py
# (TaskGroup.create_task adds each child to the awaited_by of the group's host task), at
# https://github.com/python/cpython/tree/3.14/Lib/asyncio, not by running this script.
import asyncio
import os
import re


def masked(text):
    text = re.sub(r"id=0x[0-9a-f]+", "id=0x?", text)
    return re.sub(r"File '([^']*)'", lambda m: "File '%s'" % os.path.basename(m.group(1)), text)


async def leaf(fut):
    await fut


async def middle(fut):
    await leaf(fut)


async def worker(fut):
    await middle(fut)


async def group_child(fut):
    await fut


async def reporter(fut):
    for t in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        print(masked(asyncio.format_call_graph(t)))
    fut.set_result(None)


async def body(tg, fut):
    tg.create_task(group_child(fut))
    await asyncio.gather(worker(fut), reporter(fut))


async def run_body(body):
    # asyncio::task_group::run(body): the body runs inside the group, in a coroutine of its own.
    async with asyncio.TaskGroup() as tg:
        await body(tg)


async def main():
    fut = asyncio.get_running_loop().create_future()
    await run_body(lambda tg: body(tg, fut))


asyncio.run(main())
