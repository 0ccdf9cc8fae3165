#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/loop_test.cpp: call_soon/call_later ordering, stop, errors."""

import asyncio

from pysupport import new_loop, show


def run_once(loop):
    loop.stop()
    loop.run_forever()


def one_iteration_at_a_time():
    loop = new_loop()
    log = []

    def x():
        log.append("X")
        loop.call_soon(lambda: log.append("D"))

    loop.call_soon(x)
    loop.call_soon(lambda: log.append("B"))
    loop.call_soon(lambda: log.append("C"))
    run_once(loop)
    first = list(log)
    left = len(loop._ready)
    run_once(loop)
    show("first iteration", first, "left", left, "whole run", log)
    loop.close()


def equal_deadlines():
    # CPython's own call_at: its heap compares deadlines only.
    loop = new_loop(stable=False)
    order = []
    when = loop.time() + 0.005
    for i in range(10):
        loop.call_at(when, order.append, i)
    loop.call_at(when + 0.001, loop.stop)
    loop.run_forever()
    show("ten call_at(same_when) ran", order)
    loop.close()


def zero_and_negative_delays():
    loop = new_loop()
    log = []
    loop.call_later(0, lambda: log.append("A"))
    loop.call_later(-1, lambda: log.append("B"))
    loop.call_soon(lambda: log.append("C"))
    loop.call_later(1, loop.stop)
    loop.run_forever()
    show("call_later(0, A); call_later(-1, B); call_soon(C) ran", log)

    log.clear()

    def a():
        log.append("A")
        loop.call_soon(lambda: log.append("A2"))

    loop.call_soon(a)
    loop.call_later(0, lambda: log.append("T"))
    loop.call_soon(lambda: log.append("B"))
    run_once(loop)
    run_once(loop)
    show("call_soon(A -> call_soon(A2)); call_later(0, T); call_soon(B) ran", log)
    loop.close()


def cancelled_handle():
    loop = new_loop()
    log = []
    h = loop.call_soon(lambda: log.append("A"))
    loop.call_soon(lambda: log.append("B"))
    h.cancel()
    run_once(loop)
    show("cancelled handle: ran", log, "cancelled", h.cancelled())
    loop.close()


def throwing_callback():
    loop = new_loop()
    reports = []
    loop.set_exception_handler(lambda lp, ctx: reports.append(ctx))
    log = []

    def bad():
        raise RuntimeError("boom")

    loop.call_soon(bad)
    loop.call_soon(lambda: log.append("next"))
    run_once(loop)
    r = reports[0]
    show("throwing callback: message starts", repr(r["message"].split(" at ")[0]),
         "exception", repr(r["exception"]), "then", log)
    loop.close()


def stop_inside_a_callback():
    loop = new_loop()
    log = []

    def cb1():
        log.append("cb1")
        loop.stop()
        loop.call_soon(lambda: log.append("cb3"))

    loop.call_soon(cb1)
    loop.call_soon(lambda: log.append("cb2"))
    loop.run_forever()
    first = list(log)
    left = len(loop._ready)
    run_once(loop)
    show("stop in cb1: first run", first, "left", left, "next run", log[len(first):])

    log.clear()

    def a1():
        log.append("a1")
        loop.call_soon(lambda: log.append("a2"))

    loop.call_soon(a1)
    loop.stop()
    loop.run_forever()
    first = list(log)
    left = len(loop._ready)
    loop.stop()
    loop.run_forever()
    show("stop(); run_forever() ran", first, "left", left, "next run", log[len(first):])
    loop.close()


def run_until_complete_errors():
    loop = new_loop()
    outer = loop.create_future()
    inner = loop.create_future()
    seen = []

    def nested():
        try:
            loop.run_until_complete(inner)
        except RuntimeError as e:
            seen.append(repr(e))
        outer.set_result(2)

    loop.call_soon(nested)
    value = loop.run_until_complete(outer)
    show("run_until_complete inside the running loop:", seen, "outer gave", value)

    f = loop.create_future()
    loop.call_soon(loop.stop)
    try:
        loop.run_until_complete(f)
    except RuntimeError as e:
        show("run_until_complete ended by stop:", repr(e), "future done", f.done())
    loop.close()


def no_running_loop():
    try:
        asyncio.get_running_loop()
    except RuntimeError as e:
        show("get_running_loop outside a loop:", repr(e))


one_iteration_at_a_time()
equal_deadlines()
zero_and_negative_delays()
cancelled_handle()
throwing_callback()
stop_inside_a_callback()
run_until_complete_errors()
no_running_loop()
