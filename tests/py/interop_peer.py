#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython's asyncio streams as the peer of tests/interop_test.cpp (needs Python 3.11+).

    interop_peer.py server          listen on 127.0.0.1 (free port), print "PORT <n>", serve one
                                    connection, then exit
    interop_peer.py client PORT     connect to 127.0.0.1:PORT, run the exchange, print the report

The exchange, the same on both sides of the C++ test:
  client: "hello\\n", "blob <N>\\n" + N pattern bytes, "last line\\n", then write_eof()
  server: "echo: <line>" for a line, "blob <N>\\n" + the same N bytes for a blob, and at the end
          of the stream "bye after <lines> lines and <bytes> bytes\\n", then it closes
Everything is bounded by a 20-second timeout; the exit code is 0 when every check passed.
"""

import asyncio
import sys

BLOB = 1 << 20
TIMEOUT = 20


def pattern(n):
    return bytes(i % 251 for i in range(n))


async def handle(reader, writer, done):
    lines = 0
    total = 0
    try:
        while line := await reader.readline():
            lines += 1
            total += len(line)
            if line.startswith(b"blob "):
                n = int(line[5:])
                data = await reader.readexactly(n)
                total += n
                writer.write(b"blob %d\n" % n + data)
            else:
                writer.write(b"echo: " + line)
            await writer.drain()
        print(f"server: end of stream after {lines} lines and {total} bytes", flush=True)
        writer.write(b"bye after %d lines and %d bytes\n" % (lines, total))
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
        done.set_result(None)


async def serve():
    done = asyncio.get_running_loop().create_future()
    server = await asyncio.start_server(lambda r, w: handle(r, w, done), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with asyncio.timeout(TIMEOUT):
        await done
    server.close()
    await server.wait_closed()
    return 0


async def client(port):
    failures = 0

    def check(what, ok):
        nonlocal failures
        print(f"{'ok' if ok else 'FAILED'}: {what}", flush=True)
        failures += not ok

    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = pattern(BLOB)
        writer.write(b"hello\n")
        writer.write(b"blob %d\n" % BLOB)
        writer.write(data)
        writer.write(b"last line\n")
        # The reply to the blob comes back while we are still sending it: read it concurrently,
        # or both sides stall with full buffers.
        sending = asyncio.create_task(writer.drain())
        check("echo of hello", await reader.readline() == b"echo: hello\n")
        check("blob header", await reader.readline() == b"blob %d\n" % BLOB)
        check("blob bytes", await reader.readexactly(BLOB) == data)
        await sending
        check("echo of last line", await reader.readline() == b"echo: last line\n")
        writer.write_eof()
        total = len(b"hello\n") + len(b"blob %d\n" % BLOB) + BLOB + len(b"last line\n")
        bye = await reader.readline()
        check(f"bye line {bye!r}", bye == b"bye after 3 lines and %d bytes\n" % total)
        check("end of stream", await reader.read() == b"" and reader.at_eof())
        writer.close()
        await writer.wait_closed()
    return 1 if failures else 0


def main(argv):
    if sys.version_info < (3, 11):
        print("interop_peer.py needs Python 3.11+", file=sys.stderr)
        return 2
    if len(argv) == 2 and argv[1] == "server":
        return asyncio.run(serve())
    if len(argv) == 3 and argv[1] == "client":
        return asyncio.run(client(int(argv[2])))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
