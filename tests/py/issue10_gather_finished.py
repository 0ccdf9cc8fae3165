# Twin of "issue 10: gather waits for pending children when some children are already done"
# (tests/regressions_test.cpp): every position of finished children among pending ones, for the
# variadic, range and return_exceptions forms. Run with CPython 3.12+.
import asyncio


async def value_after(d, v):
    if d > 0:
        await asyncio.sleep(d)
    return v


async def case(mask, form):
    hs = [asyncio.create_task(value_after(0 if (mask >> i) & 1 else 0.01, i + 1)) for i in range(3)]
    await asyncio.sleep(0.001)
    assert [h.done() for h in hs] == [bool((mask >> i) & 1) for i in range(3)]
    if form in (0, 1):  # variadic and range are the same call in Python
        got = await asyncio.gather(*hs)
    else:
        got = await asyncio.gather(*hs, return_exceptions=True)
    print(form, mask, got)


async def main():
    for form in range(4):
        for mask in range(8):
            await case(mask, form)


asyncio.run(main())
