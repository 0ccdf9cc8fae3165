#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPython twin of tests/signals_test.cpp: loop.add_signal_handler and asyncio.run's SIGINT."""

import asyncio
import os
import selectors
import signal
import threading


def run_once(loop):
    loop.stop()
    loop.run_forever()


def handler_next_iteration(selector_cls):
    loop = asyncio.SelectorEventLoop(selector_cls())
    log = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: log.append("handler"))
    def sender():
        log.append("raise")
        signal.raise_signal(signal.SIGUSR1)
        log.append("after raise")
    loop.call_soon(sender)
    per_iteration = []
    for _ in range(4):
        before = len(log)
        run_once(loop)
        per_iteration.append(log[before:])
    print(selector_cls.__name__, "per iteration", per_iteration)
    loop.close()


def coalesced():
    loop = asyncio.new_event_loop()
    runs = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: runs.append(1))
    signal.raise_signal(signal.SIGUSR1)
    signal.raise_signal(signal.SIGUSR1)
    for _ in range(3):
        run_once(loop)
    print("two signals before the loop iterates: handler runs", len(runs))
    loop.close()


def remove_and_errors():
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    print("handler installed: disposition is not SIG_DFL",
          signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL)
    print("remove_signal_handler", loop.remove_signal_handler(signal.SIGUSR1),
          loop.remove_signal_handler(signal.SIGUSR1))
    print("after removal SIGUSR1 is SIG_DFL", signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL)
    for sig in (0, -1, signal.NSIG, 32):
        try:
            loop.add_signal_handler(sig, lambda: None)
            print("add", sig, "accepted")
        except Exception as e:
            print("add", sig, type(e).__name__, e)
    for sig in (0, signal.NSIG):
        try:
            loop.remove_signal_handler(sig)
            print("remove", sig, "accepted")
        except Exception as e:
            print("remove", sig, type(e).__name__, e)
    for sig in (signal.SIGKILL, signal.SIGSTOP):
        try:
            loop.add_signal_handler(sig, lambda: None)
            print("add", signal.Signals(sig).name, "accepted")
        except Exception as e:
            print("add", signal.Signals(sig).name, type(e).__name__, e)
    loop.add_signal_handler(signal.SIGUSR2, lambda: None)
    loop.close()
    print("close removes handlers: SIGUSR2 is SIG_DFL",
          signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL)
    for name, f in (("add", lambda: loop.add_signal_handler(signal.SIGUSR1, lambda: None)),
                    ("add bad sig", lambda: loop.add_signal_handler(0, lambda: None)),
                    ("remove", lambda: loop.remove_signal_handler(signal.SIGUSR1))):
        try:
            print("closed loop:", name, "->", f())
        except Exception as e:
            print("closed loop:", name, type(e).__name__, e)


def throwing_handler():
    loop = asyncio.new_event_loop()
    seen = []
    loop.set_exception_handler(lambda l, ctx: seen.append(
        (ctx["message"].split(" ")[0:3], type(ctx.get("exception")).__name__)))
    def bad():
        raise ValueError("boom")
    loop.add_signal_handler(signal.SIGUSR1, bad)
    signal.raise_signal(signal.SIGUSR1)
    run_once(loop)
    run_once(loop)
    print("a throwing handler is reported:", seen)
    loop.close()


def other_thread():
    out = []
    def body():
        loop = asyncio.new_event_loop()
        try:
            loop.add_signal_handler(signal.SIGUSR1, lambda: None)
            out.append("accepted")
        except Exception as e:
            out.append(f"{type(e).__name__} {e}")
        loop.close()
    t = threading.Thread(target=body)
    t.start()
    t.join()
    print("add_signal_handler off the main thread:", out[0])


def run_sigint():
    log = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(10)
            log.append("sleep finished")
        except asyncio.CancelledError:
            log.append("main sees CancelledError")
            raise
        finally:
            log.append("main cleanup runs")

    try:
        asyncio.run(main())
        log.append("run returned")
    except KeyboardInterrupt:
        log.append("run raises KeyboardInterrupt")
    print("asyncio.run + SIGINT:", log)
    print("after run SIGINT is default_int_handler",
          signal.getsignal(signal.SIGINT) is signal.default_int_handler)


def run_sigint_swallowed():
    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "swallowed"

    try:
        print("main swallows the cancellation: run returns", asyncio.run(main()))
    except KeyboardInterrupt:
        print("main swallows the cancellation: run raises KeyboardInterrupt")


def run_sigint_not_default():
    old = signal.signal(signal.SIGINT, lambda s, f: None)
    async def main():
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        return "finished"
    print("SIGINT not default: run returns", asyncio.run(main()))
    signal.signal(signal.SIGINT, old)


for cls in (selectors.EpollSelector, selectors.PollSelector):
    handler_next_iteration(cls)
coalesced()
remove_and_errors()
throwing_handler()
other_thread()
run_sigint()
run_sigint_swallowed()
run_sigint_not_default()
