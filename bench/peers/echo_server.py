# SPDX-License-Identifier: MIT
"""The Python echo servers of bench/peers/echo_compare.sh: CPython asyncio or uvloop.

    python3 bench/peers/echo_server.py PORT                        # CPython asyncio, streams
    python3 bench/peers/echo_server.py PORT --uvloop               # uvloop, streams
    python3 bench/peers/echo_server.py PORT --uvloop --protocol    # uvloop, a Protocol

Listens on 127.0.0.1:PORT, prints "ready" once listening and nothing else, and echoes every
connection until its end of stream: streams read(65536), write, drain (the twin of
echo_asyncio.cpp); --protocol writes back in data_received. Runs until killed.
"""
import asyncio
import sys


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port, protocol):
    loop = asyncio.get_running_loop()
    if protocol:
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port)
    else:
        server = await asyncio.start_server(echo, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or any(a not in ("--uvloop", "--protocol") for a in args[1:]):
        sys.exit("usage: echo_server.py PORT [--uvloop] [--protocol]")
    if "--uvloop" in args:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main(int(args[0]), "--protocol" in args))
