# SPDX-License-Identifier: MIT
"""CPython's side of the four disagreements listed in tests/differential/README.md.

PYENV_VERSION=3.13.0 python3 tests/py/differential_disagreements.py prints (3.12.1: the same):
1 gather [7, 7]
2 child got ()
2 main got ()
3 await 1 ('m7',)
3 await 2 ()
4 gather ('',)
4 gather raise ('m9',)
"""

import asyncio


async def value():
    return 7


async def sleeper(tag=None):
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError as e:
        if tag:
            print(tag, "child got", e.args)
        raise


async def main():
    # 1: a finished task before a pending child.
    t = asyncio.create_task(value())
    await t
    print("1 gather", await asyncio.gather(t, value()))
    # 2: cancel() then cancel("m7") while the first is under way.
    t = asyncio.create_task(sleeper("2"))
    await asyncio.sleep(0)
    t.cancel()
    t.cancel("m7")
    try:
        await t
    except asyncio.CancelledError as e:
        print("2 main got", e.args)
    # 3: the message is handed out once.
    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t.cancel("m7")
    for i in (1, 2):
        try:
            await t
        except asyncio.CancelledError as e:
            print("3 await", i, e.args)
    # 4: gather(return_exceptions=True) of a child cancelled with a message; and without.
    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t.cancel("m8")
    r = await asyncio.gather(t, return_exceptions=True)
    print("4 gather", r[0].args)
    t = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    t.cancel("m9")
    try:
        await asyncio.gather(t)
    except asyncio.CancelledError as e:
        print("4 gather raise", e.args)


asyncio.run(main())
