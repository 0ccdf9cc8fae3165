# Twin of "issue 10: a second cancel() does not rewrite the message of a cancellation under way"
# (tests/regressions_test.cpp). Run with CPython 3.12+.
import asyncio

async def sleeper(name):
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        print(name, "saw", e.args)
        raise

async def blocked_on_future(name, fut):
    try:
        await fut
    except asyncio.CancelledError as e:
        print(name, "saw", e.args)
        raise

async def main():
    # 1. sleeping task: cancel("first") then cancel()
    t = asyncio.create_task(sleeper("sleep"))
    await asyncio.sleep(0)
    print(t.cancel("first"), t.cancel(), t.cancelling())
    try:
        await t
    except asyncio.CancelledError as e:
        print("awaiter got", e.args)
    # 2. blocked on a future
    f = asyncio.get_running_loop().create_future()
    t = asyncio.create_task(blocked_on_future("future", f))
    await asyncio.sleep(0)
    print(t.cancel("first"), t.cancel("second"))
    try:
        await t
    except asyncio.CancelledError as e:
        print("awaiter got", e.args)
    # 3. blocked on a task
    inner = asyncio.create_task(sleeper("inner"))
    t = asyncio.create_task(blocked_on_future("outer", inner))
    await asyncio.sleep(0)
    print(t.cancel("first"), t.cancel())
    try:
        await t
    except asyncio.CancelledError as e:
        print("awaiter got", e.args)
    # 4. b cancelled, then cancelled again with "via-outer" from a task awaiting it
    b = asyncio.create_task(sleeper("b"))
    a = asyncio.create_task(blocked_on_future("a", b))
    await asyncio.sleep(0)
    print(b.cancel(), a.cancel("via-outer"), b.cancelling(), a.cancelling())
    await asyncio.sleep(0); await asyncio.sleep(0); await asyncio.sleep(0)
    print("a", a.cancelled(), "b", b.cancelled())
    # 5. not blocked (queued): last message wins
    t = asyncio.create_task(sleeper("queued"))
    print(t.cancel("first"), t.cancel("second"))
    try:
        await t
    except asyncio.CancelledError as e:
        print("awaiter got", e.args)
    # 6. woken (sleep(0) pending) then cancel twice: last message wins
    async def yielder():
        try:
            await asyncio.sleep(0)
            print("yielder resumed")
        except asyncio.CancelledError as e:
            print("yielder saw", e.args)
    t = asyncio.create_task(yielder())
    await asyncio.sleep(0)
    print(t.cancel("one"), t.cancel("two"))
    await asyncio.sleep(0); await asyncio.sleep(0)

asyncio.run(main())
