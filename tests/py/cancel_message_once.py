# Twin of "a cancelled task hands its cancel message out once" and "gather with return_exceptions
# holds an empty cancelled_error for a cancelled task" (tests/cancellation_test.cpp). Found by the
# differential tests. Run with CPython 3.12+.
import asyncio


async def sleeper():
    await asyncio.sleep(1)


def args(e):
    return e.args


async def main():
    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t.cancel("m7")
    for i in range(3):
        try:
            await t
        except asyncio.CancelledError as e:
            print("await", i, args(e))
    try:
        t.result()
    except asyncio.CancelledError as e:
        print("result", args(e))
    f = asyncio.get_running_loop().create_future()
    f.cancel("fm")
    for i in range(2):
        try:
            await f
        except asyncio.CancelledError as e:
            print("future await", i, args(e))
    t2 = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t2.cancel("m8")
    f2 = asyncio.get_running_loop().create_future()
    f2.cancel("fm2")
    r = await asyncio.gather(t2, f2, return_exceptions=True)
    print("gather outcomes", [args(x) for x in r])
    try:
        await t2
    except asyncio.CancelledError as e:
        print("t2 after gather", args(e))
    t3 = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t3.cancel("m9")
    try:
        await asyncio.gather(t3)
    except asyncio.CancelledError as e:
        print("gather raised", args(e))
    try:
        await t3
    except asyncio.CancelledError as e:
        print("t3 after gather", args(e))


asyncio.run(main())
