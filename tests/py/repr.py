# SPDX-License-Identifier: MIT
# What CPython 3.13 prints for queues, tasks, futures and handles (quoted by tests/repr_test.cpp).
import asyncio


async def main():
    loop = asyncio.get_running_loop()

    # Queues: str() is repr() without the address.
    q = asyncio.Queue()
    print("queue empty:", str(q))
    q = asyncio.Queue(maxsize=1)
    await q.put(1)
    print("queue one item:", str(q))
    putter = asyncio.create_task(q.put(2))
    await asyncio.sleep(0)
    print("queue with putter:", str(q))
    q.get_nowait()
    q.task_done()
    await putter
    q.get_nowait()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    print("queue with getter:", str(q))
    getter.cancel()
    await asyncio.sleep(0)
    q2 = asyncio.Queue()
    q2.put_nowait('a')
    q2.put_nowait('b')
    q2.shutdown()
    print("queue shut down:", str(q2))
    pq = asyncio.PriorityQueue()
    for v in (3, 1, 2):
        pq.put_nowait(v)
    print("priority queue:", str(pq))
    lq = asyncio.LifoQueue(maxsize=5)
    for v in (1, 2, 3):
        lq.put_nowait(v)
    print("lifo queue:", str(lq))
    print("queue repr:", repr(asyncio.Queue())[:14], "...")

    # Futures.
    f = loop.create_future()
    print("future pending:", repr(f))
    f.set_result(1)
    print("future result:", repr(f))
    f = loop.create_future()
    f.set_result('x')
    print("future str result:", repr(f))
    f = loop.create_future()
    f.set_result(None)
    print("future none result:", repr(f))
    f = loop.create_future()
    f.set_exception(ValueError('x'))
    f.exception()
    print("future exception:", repr(f))
    f = loop.create_future()
    f.cancel("why")
    print("future cancelled:", repr(f))
    f = loop.create_future()
    f.add_done_callback(lambda _: None)
    print("future with callback:", repr(f))
    f = loop.create_future()
    f.set_result('a' * 40)
    print("future long str:", repr(f))

    # Tasks.
    async def child():
        await asyncio.sleep(10)

    async def ret(v):
        return v

    async def boom():
        raise ValueError('x')

    t = asyncio.create_task(child(), name='sleeper')
    print("task before start:", repr(t))
    await asyncio.sleep(0)
    print("task pending:", repr(t))
    t.cancel()
    print("task cancelling:", repr(t))
    try:
        await t
    except asyncio.CancelledError:
        pass
    print("task cancelled:", repr(t))
    t = asyncio.create_task(ret(1), name='x')
    await t
    print("task result:", repr(t))
    t = asyncio.create_task(ret('s'), name='x')
    await t
    print("task str result:", repr(t))
    t = asyncio.create_task(ret(None), name='x')
    await t
    print("task none result:", repr(t))
    t = asyncio.create_task(boom(), name='x')
    try:
        await t
    except ValueError:
        pass
    print("task exception:", repr(t))
    fut = loop.create_future()

    async def waiter():
        await fut

    t = asyncio.create_task(waiter(), name='w')
    await asyncio.sleep(0)
    print("task waiting on future:", repr(t))
    fut.set_result(None)
    await t

    # Handles.
    def cb():
        pass

    h = loop.call_soon(cb)
    print("handle:", repr(h))
    h.cancel()
    print("handle cancelled:", repr(h))
    th = loop.call_at(12.5, cb)
    print("timer handle:", repr(th))
    th.cancel()
    print("timer handle cancelled:", repr(th))

    # Strings in results.
    for s in ["it's", 'say "hi"', 'both \' and "', 'tab\tnew\nline\\', '\x01\x7f']:
        f = loop.create_future()
        f.set_result(s)
        print("string result:", repr(f))


asyncio.run(main())
