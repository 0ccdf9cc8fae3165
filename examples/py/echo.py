#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python twin of examples/echo.cpp: a TCP echo server and its client in one program."""

import asyncio

LINES = ["hello", "asyncio from C++", "bye"]


async def handle_echo(reader, writer):
    while line := await reader.readline():
        print(f"server: received {line.decode().rstrip()!r}")
        writer.write(line)
        await writer.drain()
    print("server: the client closed its side; closing")
    writer.close()
    await writer.wait_closed()


async def client(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for text in LINES:
        writer.write(f"{text}\n".encode())
        await writer.drain()
        echo = await reader.readline()
        print(f"client: echoed {echo.decode().rstrip()!r}")
    writer.write_eof()
    rest = await reader.read()
    print(f"client: end of stream ({len(rest)} more bytes)")
    writer.close()
    await writer.wait_closed()


async def main():
    server = await asyncio.start_server(handle_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("server: listening on 127.0.0.1 (port chosen by the system)")
    await asyncio.wait_for(client(port), 10)
    server.close()
    await server.wait_closed()
    print("server: closed")


asyncio.run(main())
