#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/datagram_test.cpp: create_datagram_endpoint, its transport and protocol."""

import asyncio
import socket

log = []


class Recorder(asyncio.DatagramProtocol):
    def __init__(self, name, echo=False):
        self.name = name
        self.echo = echo
        self.transport = None
        self.received = 0

    def connection_made(self, transport):
        self.transport = transport
        log.append(f"{self.name}: connection_made")

    def datagram_received(self, data, addr):
        self.received += 1
        log.append(f"{self.name}: datagram_received {data!r}")
        if self.echo:
            self.transport.sendto(data.upper(), addr)

    def error_received(self, exc):
        log.append(f"{self.name}: error_received {type(exc).__name__} errno={exc.errno}")

    def connection_lost(self, exc):
        log.append(f"{self.name}: connection_lost {exc!r}")


async def until(cond):
    for _ in range(200):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise TimeoutError


async def echo():
    loop = asyncio.get_running_loop()
    st, sp = await loop.create_datagram_endpoint(
        lambda: Recorder("server", True), local_addr=("127.0.0.1", 0))
    log.append("server endpoint returned")
    port = st.get_extra_info("sockname")[1]
    ct, cp = await loop.create_datagram_endpoint(
        lambda: Recorder("client"), remote_addr=("127.0.0.1", port))
    log.append("client endpoint returned")
    log.append(f"client peername is the server: {ct.get_extra_info('peername') == ('127.0.0.1', port)}")
    log.append(f"server peername: {st.get_extra_info('peername')}")
    ct.sendto(b"hello")
    await until(lambda: cp.received == 1)
    ct.sendto(b"")
    await until(lambda: cp.received == 2)
    ct.sendto(b"world", ("127.0.0.1", port))
    await until(lambda: cp.received == 3)
    try:
        ct.sendto(b"x", ("127.0.0.1", 9))
    except ValueError as e:
        log.append(f"sendto elsewhere: ValueError {str(e).split(':')[0]}")
    ct.close()
    log.append(f"client is_closing {ct.is_closing()}")
    ct.sendto(b"after close")  # dropped
    ct.close()  # idempotent
    log.append("before one iteration")
    await asyncio.sleep(0)
    log.append("after one iteration")
    st.abort()
    await asyncio.sleep(0)
    log.append(f"server received {sp.received}")


async def refused():
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t, p = await loop.create_datagram_endpoint(
        lambda: Recorder("refused"), remote_addr=("127.0.0.1", port))
    t.sendto(b"anyone?")
    await until(lambda: any(line.startswith("refused: error_received") for line in log))
    log.append(f"refused is_closing {t.is_closing()}")
    t.close()
    await asyncio.sleep(0)


async def bad_input():
    loop = asyncio.get_running_loop()
    try:
        await loop.create_datagram_endpoint(asyncio.DatagramProtocol)
    except ValueError as e:
        log.append(f"no address: ValueError {e}")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=s)
    except ValueError as e:
        log.append(f"stream socket: ValueError {str(e).split(',')[0]}")
    s.close()
    try:
        await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 70000))
    except OverflowError as e:
        log.append(f"port out of range: OverflowError {e}")


async def main():
    await echo()
    await refused()
    await bad_input()


asyncio.run(main())
for line in log:
    print(line)
