# Twin of "issue 10: gather of a child of another loop raises invalid_argument; awaiting a pending
# future of another loop raises runtime_error" (tests/regressions_test.cpp). Run with CPython 3.12+.
import asyncio


async def one():
    return 1


other = asyncio.new_event_loop()
done_elsewhere = other.create_task(one())
other.run_until_complete(done_elsewhere)
pending_elsewhere = other.create_future()


async def main():
    for args in ([done_elsewhere], [one(), pending_elsewhere]):
        try:
            asyncio.gather(*args)
        except ValueError as e:
            print("ValueError:", e)
    try:
        await pending_elsewhere
    except RuntimeError as e:
        print("RuntimeError:", "attached to a different loop" in str(e))
    print("done future of another loop:", await done_elsewhere)


asyncio.run(main())
other.close()
