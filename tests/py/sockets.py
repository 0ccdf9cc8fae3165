#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/socket_test.cpp: sock_* hops, cancellation and errors."""

import asyncio
import socket


async def hops():
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    tick = 0
    done = False

    async def ticker():
        nonlocal tick
        while not done:
            await asyncio.sleep(0)
            tick += 1
            if tick == 2:
                b.send(b"cd")

    b.send(b"ab")
    t = asyncio.create_task(ticker())
    first = await loop.sock_recv(a, 10)
    print("data ready: sock_recv returned", first, "at tick", tick)
    second = await loop.sock_recv(a, 10)
    print("data sent at tick 2: sock_recv returned", second, "at tick", tick)
    done = True
    await t
    a.close()
    b.close()


async def cancel_after_completion():
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    log = []

    async def reader():
        got = await loop.sock_recv(a, 10)
        log.append(f"got {got!r}")
        await asyncio.sleep(1)

    r = asyncio.create_task(reader())
    await asyncio.sleep(0)
    b.send(b"xy")
    loop.call_later(0, r.cancel)
    try:
        await r
    except asyncio.CancelledError:
        log.append("reader cancelled")
    try:
        left = a.recv(10)
    except BlockingIOError:
        left = "nothing (the bytes were dropped)"
    print("cancel in the iteration the data came:", log, "left in socket:", left)
    a.close()
    b.close()


async def errors():
    loop = asyncio.get_running_loop()
    closed_port = socket.socket()
    closed_port.bind(("127.0.0.1", 0))
    target = closed_port.getsockname()
    c = socket.socket()
    c.setblocking(False)
    try:
        await loop.sock_connect(c, target)
    except OSError as e:
        print("connect to a closed port:", type(e).__name__, e.errno,
              str(e).replace(str(target[1]), "PORT"))
    c.close()
    closed_port.close()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.close()
    try:
        await loop.sock_sendall(a, b"x" * 65536)
    except OSError as e:
        print("sendall to a closed peer:", type(e).__name__, e.errno)
    a.close()
    try:
        s = socket.socket()
        s.connect(("127.0.0.1", -1))
    except OverflowError as e:
        print("port -1:", type(e).__name__, e)
    s.close()
    try:
        socket.getaddrinfo("not-a-number", 80, flags=socket.AI_NUMERICHOST)
    except socket.gaierror as e:
        print("getaddrinfo('not-a-number', 80, flags=AI_NUMERICHOST):", type(e).__name__,
              e.errno, e.strerror)


asyncio.run(hops())
asyncio.run(cancel_after_completion())
asyncio.run(errors())
