#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/streams_test.cpp: stream reader/writer hops, limits, errors, servers."""

import asyncio
import os
import socket
import struct
import tempfile


async def read_hops():
    srv_writer = None
    got = asyncio.Event()

    async def handler(reader, writer):
        nonlocal srv_writer
        srv_writer = writer
        got.set()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await got.wait()
    srv_writer.write(b"ab")
    for _ in range(20):  # let the bytes arrive in the client's buffer
        await asyncio.sleep(0)
    tick = 0
    done = False

    async def ticker():
        nonlocal tick
        while not done:
            await asyncio.sleep(0)
            tick += 1
            if tick == 2:
                srv_writer.write(b"cd")

    t = asyncio.create_task(ticker())
    first = await reader.read(10)
    print("buffered: read returned", first, "at tick", tick)
    second = await reader.read(10)
    print("written at tick 2: read returned", second, "at tick", tick)
    done = True
    await t
    writer.close()
    await writer.wait_closed()
    srv_writer.close()
    server.close()
    await server.wait_closed()


def reader_semantics():
    loop = asyncio.new_event_loop()

    async def main():
        r = asyncio.StreamReader(limit=10)
        r.feed_data(b"hello\nworld")
        print("read(0):", await r.read(0))
        print("readline:", await r.readline())
        print("readexactly(3):", await r.readexactly(3))
        r.feed_data(b"x" * 20)
        try:
            await r.readuntil(b"!")
        except asyncio.LimitOverrunError as e:
            print("readuntil past the limit:", type(e).__name__, e.consumed, e)
        print("buffer kept after LimitOverrunError:", len(r._buffer))
        r2 = asyncio.StreamReader(limit=4)
        r2.feed_data(b"abcdefgh\nrest\n")
        try:
            await r2.readline()
        except ValueError as e:
            print("readline past the limit:", type(e).__name__, e)
        print("after that, readline:", await r2.readline())
        r3 = asyncio.StreamReader(limit=4)
        r3.feed_data(b"abcdefgh")
        try:
            await r3.readline()
        except ValueError as e:
            print("readline past the limit, no separator:", type(e).__name__, e)
        print("buffer cleared:", len(r3._buffer))
        r4 = asyncio.StreamReader(limit=4)
        r4.feed_data(b"abcdef!")
        try:
            await r4.readuntil(b"!")
        except asyncio.LimitOverrunError as e:
            print("separator found past the limit:", e.consumed, e)
        r5 = asyncio.StreamReader()
        r5.feed_data(b"par")
        r5.feed_eof()
        try:
            await r5.readexactly(5)
        except asyncio.IncompleteReadError as e:
            print("readexactly at EOF:", type(e).__name__, e.partial, e.expected, e,
                  isinstance(e, EOFError))
        print("at_eof after:", r5.at_eof(), "read():", await r5.read())
        r6 = asyncio.StreamReader()
        r6.feed_data(b"tail")
        r6.feed_eof()
        try:
            await r6.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            print("readuntil at EOF:", e.partial, e.expected, e)
        r7 = asyncio.StreamReader()
        r7.feed_data(b"a\nb\nc")
        r7.feed_eof()
        print("lines:", [line async for line in r7])
        r8 = asyncio.StreamReader()
        print("at_eof fresh:", r8.at_eof())
        r8.feed_data(b"x")
        r8.feed_eof()
        print("at_eof with data:", r8.at_eof(), await r8.read(-1), r8.at_eof(),
              await r8.read(5), await r8.readline())
        try:
            await r8.readexactly(-1)
        except ValueError as e:
            print("readexactly(-1):", e)
        try:
            await r8.readuntil(b"")
        except ValueError as e:
            print("readuntil(''):", e)
        r9 = asyncio.StreamReader()
        a = asyncio.create_task(r9.read(1))
        await asyncio.sleep(0)
        try:
            await r9.read(1)
        except RuntimeError as e:
            print("second reader:", e)
        a.cancel()
        # readuntil with a tuple of separators (3.13): the shortest chunk wins.
        r10 = asyncio.StreamReader(limit=5)
        r10.feed_data(b"abc\r\nxyz\nab--cd\n")
        print("readuntil tuple:", await r10.readuntil((b"\n", b"\r\n")))
        print("readuntil tuple:", await r10.readuntil((b"\r\n", b"\n")))
        print("readuntil tuple, longer separator first:", await r10.readuntil((b"\n", b"--")))
        print("readuntil one-element tuple:", await r10.readuntil((b"\n",)))
        r10.feed_data(b"0123456789\n")
        try:
            await r10.readuntil((b"\n", b"89"))
        except asyncio.LimitOverrunError as e:
            print("readuntil tuple past the limit:", e.consumed, e)
        print("then read:", await r10.read(100))
        r10.feed_eof()
        try:
            await r10.readuntil(())
        except ValueError as e:
            print("readuntil(()):", e)
        try:
            await r10.readuntil((b"\n", b""))
        except ValueError as e:
            print("readuntil((sep, b'')):", e)

    loop.run_until_complete(main())
    loop.close()


async def flow_control():
    release = asyncio.Event()
    server_read = 0

    async def handler(reader, writer):
        nonlocal server_read
        await release.wait()
        while True:
            data = await reader.read(65536)
            if not data:
                break
            server_read += len(data)
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    tr = writer.transport
    print("water marks:", tr.get_write_buffer_limits())
    total = 0
    chunk = b"z" * 65536
    blocked = False
    for _ in range(2000):
        writer.write(chunk)
        total += len(chunk)
        try:
            await asyncio.wait_for(writer.drain(), 0.2)
        except TimeoutError:
            blocked = True
            break
    print("drain blocks against a peer that does not read:", blocked,
          "buffer above the high mark:", tr.get_write_buffer_size() > 65536)
    release.set()
    await writer.drain()
    print("after the peer reads, drain returns with buffer <= low mark:",
          tr.get_write_buffer_size() <= 16384)
    writer.write_eof()
    print("can_write_eof:", writer.can_write_eof())
    await reader.read()
    await writer.wait_closed() if writer.is_closing() else None
    writer.close()
    await writer.wait_closed()
    print("server read everything:", server_read == total)
    server.close()
    await server.wait_closed()


async def reset_mid_read():
    async def handler(reader, writer):
        writer.write(b"partial")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readexactly(100)
    except ConnectionResetError as e:
        print("reset during readexactly:", type(e).__name__, e.errno)
    print("buffered partial data:", bytes(reader._buffer))
    try:
        await reader.read(100)
    except ConnectionResetError as e:
        print("read after the reset:", type(e).__name__)
    try:
        writer.write(b"x")
        await writer.drain()
    except ConnectionResetError as e:
        print("drain after the reset:", type(e).__name__, e)
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionResetError as e:
        print("wait_closed after the reset:", type(e).__name__)
    server.close()
    await server.wait_closed()


async def errors():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        print("open_connection to a closed port:", type(e).__name__, e.errno)

    async def handler(reader, writer):
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    print("peer closed: read() returns", await reader.read())
    for _ in range(10):
        await asyncio.sleep(0)
    writer.write(b"x" * 100)
    for _ in range(10):
        await asyncio.sleep(0.01)
    try:
        writer.write(b"y")
        await writer.drain()
        print("drain after the peer closed: no error")
    except OSError as e:
        print("drain after the peer closed:", type(e).__name__, e)
    print("is_closing:", writer.is_closing())
    writer.close()
    try:
        await writer.wait_closed()
    except OSError as e:
        print("wait_closed:", type(e).__name__)
    writer.close()
    writer.write(b"after close")
    print("write after close: silently dropped")
    try:
        await writer.drain()
    except OSError as e:
        print("drain after close raises the reader's error:", type(e).__name__)
    server.close()
    await server.wait_closed()


async def server_lifecycle():
    log = []
    started = asyncio.Event()
    finish = asyncio.Event()

    async def handler(reader, writer):
        log.append("handler start")
        started.set()
        await finish.wait()
        writer.write(await reader.read(10))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        log.append("handler end")

    server = await asyncio.start_server(handler, "127.0.0.1", 0, start_serving=False)
    print("is_serving before start_serving:", server.is_serving())
    await server.start_serving()
    print("is_serving after:", server.is_serving(), "sockets:", len(server.sockets))
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await started.wait()
    server.close()
    print("after close: is_serving", server.is_serving(), "sockets", len(server.sockets))
    w = asyncio.create_task(server.wait_closed())
    await asyncio.sleep(0.01)
    print("wait_closed waits for the handler:", not w.done())
    writer.write(b"ping")
    finish.set()
    got = await reader.read(10)
    log.append("client got")
    print("client got:", got)
    writer.close()
    await writer.wait_closed()
    await w
    print("log:", log)
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        print("connect after close:", type(e).__name__)

    server2 = await asyncio.start_server(handler, "127.0.0.1", 0)
    sf = asyncio.create_task(server2.serve_forever())
    await asyncio.sleep(0)
    try:
        await server2.serve_forever()
    except RuntimeError as e:
        print("serve_forever twice:", str(e).split(" is ")[1])
    sf.cancel()
    try:
        await sf
    except asyncio.CancelledError:
        print("serve_forever cancelled: is_serving", server2.is_serving())


async def one_byte_at_a_time():
    async def handler(reader, writer):
        line = await reader.readline()
        writer.write(b"got " + line)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for b in b"hello\n":
        writer.write(bytes([b]))
        await writer.drain()
        await asyncio.sleep(0.001)
    print("one byte at a time:", await reader.read())
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def unix():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "s.sock")

    async def handler(reader, writer):
        writer.write(b"unix " + await reader.readline())
        writer.close()

    server = await asyncio.start_unix_server(handler, path)
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(b"hi\n")
    print("unix:", await reader.read(), "peername is the path:", writer.get_extra_info("peername") == path)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    print("socket file removed by close:", not os.path.exists(path))
    os.rmdir(d)


async def plain_callback_and_async_with():
    accepted = []

    def handler(reader, writer):  # a plain function: runs at accept, keeps nothing
        accepted.append(True)
        writer.write(b"hi\n")

    async with await asyncio.start_server(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        line = await reader.readline()
        rest = await reader.read()
        print("plain callback:", len(accepted), line, rest)
        writer.close()
        await writer.wait_closed()
    print("after async with: is_serving", server.is_serving())
    try:
        await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        print("connect after async with: ConnectionRefusedError")


asyncio.run(read_hops())
reader_semantics()
asyncio.run(flow_control())
asyncio.run(reset_mid_read())
asyncio.run(errors())
asyncio.run(server_lifecycle())
asyncio.run(one_byte_at_a_time())
asyncio.run(unix())
asyncio.run(plain_callback_and_async_with())
