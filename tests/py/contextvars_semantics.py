# SPDX-License-Identifier: MIT
# Twin of tests/contextvars_test.cpp. Run with CPython 3.13: python3 tests/py/contextvars_semantics.py
import asyncio
import contextvars

var = contextvars.ContextVar("var")
other = contextvars.ContextVar("other", default=7)


def show(label, f):
    try:
        print(label, "->", repr(f()))
    except Exception as e:  # noqa: BLE001
        print(label, "->", type(e).__name__ + ":", str(e).split(" at 0x")[0])


show("get unset, no default", var.get)
show("get unset, default arg", lambda: var.get(5))
show("get var default", other.get)
show("get var default, arg wins", lambda: other.get(9))
t = var.set(1)
show("token.old_value is MISSING", lambda: t.old_value is contextvars.Token.MISSING)
show("token.var is var", lambda: t.var is var)
t2 = var.set(2)
show("old_value", lambda: t2.old_value)
var.reset(t2)
show("after reset", var.get)
show("reset twice", lambda: var.reset(t2))
show("reset with other var's token", lambda: other.reset(t))
ctx = contextvars.copy_context()
t3 = ctx.run(lambda: var.set(3))
show("reset token of another context", lambda: var.reset(t3))
show("other context keeps its value", lambda: ctx[var])
show("copy not affected", var.get)
var.reset(t)
show("reset to missing", lambda: var.get("none"))
show("run nested", lambda: ctx.run(lambda: ctx.run(lambda: 0)))
show("ctx len/contains", lambda: (len(ctx), var in ctx, other in ctx))


async def main():
    var.set("main")
    seen = []

    async def child(n):
        seen.append(("child sees", n, var.get()))
        var.set(f"child{n}")
        await asyncio.sleep(0)
        seen.append(("child after sleep", n, var.get()))

    await asyncio.gather(child(1), child(2))
    seen.append(("main after gather", var.get()))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(child(3))
    seen.append(("main after taskgroup", var.get()))
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    var.set("at call_soon")
    loop.call_soon(lambda: seen.append(("call_soon sees", var.get())))
    var.set("later")
    loop.call_later(0.01, lambda: (seen.append(("call_later sees", var.get())), var.set("cb"), done.set_result(None)))
    await done
    seen.append(("main after callback set", var.get()))
    c = contextvars.copy_context()
    c.run(var.set, "explicit")
    t = asyncio.create_task(child(4), context=c)
    await t
    seen.append(("explicit context after task", c[var]))
    c2 = contextvars.Context()
    loop.call_soon(lambda: seen.append(("call_soon context=", var.get("unset"))), context=c2)
    await asyncio.sleep(0)
    fut = loop.create_future()
    var.set("at add_done_callback")

    def on_done(_):
        seen.append(("done callback sees", var.get()))
        var.set("set by callback")

    fut.add_done_callback(on_done)
    var.set("later")
    fut.set_result(1)
    await asyncio.sleep(0)
    seen.append(("main after done callback", var.get()))
    # Creating the task copies at create_task time, not at first step.
    var.set("before")
    t = asyncio.create_task(child(5))
    var.set("after")
    await t
    for s in seen:
        print(*s)


asyncio.run(main())
