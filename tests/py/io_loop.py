#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/io_loop_test.cpp: descriptor callbacks, iteration order, closed loops."""

import asyncio
import os
import selectors
import socket
import threading


def new_loop(selector_cls):
    return asyncio.SelectorEventLoop(selector_cls())


def run_once(loop):
    loop.stop()
    loop.run_forever()


def order(selector_cls):
    loop = new_loop(selector_cls)
    a, b = socket.socketpair()
    b.send(b"x")
    log = []

    def reader():
        log.append("reader")
        loop.remove_reader(a)

    loop.call_later(0, lambda: log.append("timer"))
    loop.add_reader(a, reader)
    loop.call_soon(lambda: log.append("soon"))
    run_once(loop)
    print(selector_cls.__name__, "one iteration ran", log)
    a.close()
    b.close()
    loop.close()


def level_triggered(selector_cls):
    loop = new_loop(selector_cls)
    a, b = socket.socketpair()
    runs = []
    loop.add_reader(a, lambda: runs.append(len(runs)))
    run_once(loop)
    before = len(runs)
    b.send(b"x")
    for _ in range(3):
        run_once(loop)
    replaced = []
    loop.add_reader(a, lambda: replaced.append(1))
    run_once(loop)
    first = loop.remove_reader(a)
    second = loop.remove_reader(a)
    run_once(loop)
    print(selector_cls.__name__, "reader runs before data", before, "after 3 iterations",
          len(runs), "replaced runs", len(replaced), "remove_reader", first, second)
    a.close()
    b.close()
    loop.close()


def bad_descriptors(selector_cls):
    loop = new_loop(selector_cls)
    try:
        loop.add_reader(-1, lambda: None)
    except ValueError as e:
        print(selector_cls.__name__, "add_reader(-1):", type(e).__name__, e)
    a, b = socket.socketpair()
    fd = a.detach()
    os.close(fd)
    try:
        loop.add_reader(fd, lambda: None)
        print(selector_cls.__name__, "add_reader(closed fd): accepted")
        loop.remove_reader(fd)
    except OSError as e:
        print(selector_cls.__name__, "add_reader(closed fd):", type(e).__name__, e.errno)
    b.close()
    loop.close()


def closed_loop():
    loop = asyncio.new_event_loop()
    loop.close()
    for name, call in [
        ("call_soon", lambda: loop.call_soon(print)),
        ("call_later", lambda: loop.call_later(1, print)),
        ("call_soon_threadsafe", lambda: loop.call_soon_threadsafe(print)),
        ("add_reader", lambda: loop.add_reader(0, print)),
        ("run_forever", loop.run_forever),
    ]:
        try:
            call()
        except RuntimeError as e:
            print("closed loop:", name, "RuntimeError", e)
    print("closed loop: remove_reader", loop.remove_reader(0))

    loop = asyncio.new_event_loop()

    def close_inside():
        try:
            loop.close()
        except RuntimeError as e:
            print("close while running: RuntimeError", e)
        loop.stop()

    loop.call_soon(close_inside)
    loop.run_forever()
    loop.close()
    loop.close()
    print("close twice: ok, is_closed", loop.is_closed())


def threadsafe_wakes_a_blocked_loop():
    loop = asyncio.new_event_loop()
    t = threading.Timer(0.05, lambda: loop.call_soon_threadsafe(loop.stop))
    t.start()
    loop.run_forever()  # nothing to do: blocks until the other thread calls
    t.join()
    print("call_soon_threadsafe woke a loop with nothing to do")
    loop.close()


for cls in (selectors.EpollSelector, selectors.PollSelector):
    order(cls)
    level_triggered(cls)
    bad_descriptors(cls)
closed_loop()
threadsafe_wakes_a_blocked_loop()
