# SPDX-License-Identifier: MIT
# What CPython 3.13 prints for queues, tasks, futures, handles, locks, task groups and timeouts
# (quoted by tests/repr_test.cpp). A lock's repr holds its address, printed here as 0x...
import asyncio
import re


def masked(o):
    return re.sub(r"0x[0-9a-f]+", "0x...", repr(o))


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

    # Locks.
    e = asyncio.Event()
    print("event:", masked(e))
    w = asyncio.create_task(e.wait())
    await asyncio.sleep(0)
    print("event with waiter:", masked(e))
    e.set()
    print("event set, waiter not run yet:", masked(e))
    await w
    print("event set:", masked(e))
    lk = asyncio.Lock()
    print("lock:", masked(lk))
    await lk.acquire()
    print("lock locked:", masked(lk))
    t = asyncio.create_task(lk.acquire())
    await asyncio.sleep(0)
    print("lock with waiter:", masked(lk))
    lk.release()
    await t
    lk.release()
    sem = asyncio.Semaphore(2)
    print("semaphore:", masked(sem))
    await sem.acquire()
    await sem.acquire()
    print("semaphore at 0:", masked(sem))
    t = asyncio.create_task(sem.acquire())
    await asyncio.sleep(0)
    print("semaphore with waiter:", masked(sem))
    sem.release()
    await t
    print("bounded semaphore:", masked(asyncio.BoundedSemaphore(3)))
    c = asyncio.Condition()
    print("condition:", masked(c))

    async def cond_waiter():
        async with c:
            await c.wait()
    t = asyncio.create_task(cond_waiter())
    await asyncio.sleep(0)
    print("condition with waiter:", masked(c))
    await c.acquire()
    print("condition locked:", masked(c))
    c.notify()
    c.release()
    await t
    b = asyncio.Barrier(3)
    print("barrier:", masked(b))
    ts = [asyncio.create_task(b.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    print("barrier filling:", masked(b))
    ts.append(asyncio.create_task(b.wait()))
    await asyncio.sleep(0)
    print("barrier draining:", masked(b))
    await asyncio.gather(*ts)
    t = asyncio.create_task(b.wait())
    await asyncio.sleep(0)
    await b.reset()
    print("barrier resetting:", masked(b))
    try:
        await t
    except asyncio.BrokenBarrierError:
        pass
    await b.abort()
    print("barrier broken:", masked(b))

    # Task groups: the states a body sees.
    async def fail():
        raise ValueError("x")
    async with asyncio.TaskGroup() as tg:
        print("task group:", repr(tg))
        tg.create_task(asyncio.sleep(1))
        print("task group with a child:", repr(tg))
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(asyncio.sleep(1))
            tg.create_task(fail())
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                print("task group aborting:", repr(tg))
                raise
    except ExceptionGroup:
        pass

    # Timeouts: the states a body sees.
    async with asyncio.timeout_at(12.5) as to:
        print("timeout:", repr(to))
    async with asyncio.timeout(None) as to:
        print("timeout without deadline:", repr(to))
    async with asyncio.timeout_at(12.3456) as to:
        print("timeout rounded:", repr(to))
    try:
        async with asyncio.timeout(0) as to:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                print("timeout expiring:", repr(to))
                raise
    except TimeoutError:
        pass


asyncio.run(main())
