#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates a random asyncio program and its line-by-line C++ twin from a seed.

    python3 gen.py SEED [--py OUT.py] [--cpp OUT.inc] [--no-KIND ...]

Each program is a handful of coroutines f0 (main) .. fN; fi only calls or spawns fj with j > i,
so the call tree is finite. Loops are bounded. Every observable event prints a line, with the
same text on both sides (pyrt.py and harness.hpp hold the helpers). The Python side is a module
with `main` and `setup`; the C++ side is one namespace `p<SEED>` with `run()`.

Constructs (the histogram keys) can be switched off one by one with --no-KIND (or the `off`
argument of generate()), e.g. to keep a known library defect out of the CI seed set.
"""

import argparse
import random
import re
import sys

KINDS = [
    "print", "time", "sleep0", "sleep", "call", "spawn", "await_task", "cancel", "cancel_msg",
    "status", "done_cb", "gather", "gather_rx", "gather_range", "gather_handles", "gather_empty",
    "gather_finished", "raise", "try", "except_cancel", "finally", "loop", "call_soon",
    "call_later", "cancelling", "q_put", "q_get", "q_put_nowait", "q_get_nowait", "q_task_done",
    "q_join", "q_shutdown", "q_query", "agen", "agen_break", "future", "cancel_self",
    "wait_for", "shield",
]

QUEUE_KINDS = {
    "fifo": ("asyncio.Queue", "asyncio::queue<int>"),
    "lifo": ("asyncio.LifoQueue", "asyncio::lifo_queue<int>"),
    "prio": ("asyncio.PriorityQueue", "asyncio::priority_queue<int>"),
}


class Out:
    """Two parallel line lists, Python and C++, with their own indentation."""

    def __init__(self):
        self.py = []
        self.cpp = []
        self.pi = 0
        self.ci = 0

    def both(self, py, cpp):
        if py is not None:
            self.py.append("    " * self.pi + py)
        if cpp is not None:
            self.cpp.append("    " * self.ci + cpp)


def lit(s):
    return ('"%s"' % s, 'std::string("%s")' % s)


class Func:
    def __init__(self, index):
        self.index = index
        self.name = "f%d" % index
        self.cost = 1  # invocations, itself included, of one call (bounds the program's size)


class Gen:
    def __init__(self, seed, off=(), drop=()):
        self.rng = random.Random(seed)
        self.seed = seed
        self.off = set(off)
        # The minimizer's knob: statements (numbered in generation order) to leave out. They are
        # still generated, so the random stream and everything else stay the same; a statement
        # that names a variable a dropped one defined goes too.
        self.drop = set(drop)
        self.dead = set()
        self.sid = 0
        self.hist = {}
        self.nvar = 0

    def on(self, kind):
        return kind not in self.off

    def use(self, kind):
        self.hist[kind] = self.hist.get(kind, 0) + 1

    def var(self, prefix):
        self.nvar += 1
        return "%s%d" % (prefix, self.nvar)

    # ---- printing -------------------------------------------------------------------------
    def P(self, o, *parts, cpp_only=False):
        """parts: plain strings (literals) or (py_expr, cpp_expr_as_string) pairs."""
        py, cpp = [], []
        for p in parts:
            if isinstance(p, str):
                py.append('"%s"' % p)
                cpp.append('"%s"' % p)
            else:
                py.append(p[0])
                cpp.append(p[1])
        o.both(None if cpp_only else "P(%s)" % ", ".join(py), "P({%s});" % ", ".join(cpp))

    # ---- program --------------------------------------------------------------------------
    def generate(self):
        r = self.rng
        n = r.randint(2, 5)
        self.funcs = [Func(i) for i in range(n)]
        self.queues = []
        if r.random() < 0.5 and any(self.on(k) for k in ("q_put", "q_get")):
            for qi in range(r.randint(1, 2)):
                kind = r.choice(sorted(QUEUE_KINDS))
                self.queues.append(("q%d" % qi, kind, r.choice([0, 1, 2, 3])))
        self.agens = []
        if self.on("agen") and r.random() < 0.4:
            for k in range(r.randint(1, 2)):
                self.agens.append(self.agen_def("ag%d" % k))
        bodies = {}
        for f in reversed(self.funcs):
            self.cur = f
            self.callees = [g for g in self.funcs if g.index > f.index]
            self.budget = 40 if f.index > 0 else 80
            o = Out()
            o.pi = o.ci = 1
            self.handles = []
            self.top_body(o, f)
            bodies[f.index] = o
        return self.render(bodies)

    def top_body(self, o, f):
        r = self.rng
        o.both(None, "(void)a;")
        self.P(o, f.name, "start", ("a", "S(a)"))
        for _ in range(r.randint(1, 7)):
            self.stmt(o, depth=0, top=True)
        # The epilogue awaits some of the tasks this function spawned (the rest are left running).
        for h in self.handles:
            if r.random() < 0.6:
                scratch = Out()
                scratch.pi, scratch.ci = o.pi, o.ci
                self.await_handle(scratch, h)
                self.keep_or_drop(o, scratch, False)
        self.P(o, f.name, "end", ("a", "S(a)"))
        ret = r.randint(0, 99)
        o.both("return %d" % ret, "co_return %d;" % ret)

    def call_expr(self, kind_cost_ok=True):
        """A call `fj(k)` of a callee within budget, or None."""
        cands = [g for g in self.callees if g.cost <= self.budget]
        if not cands:
            return None
        g = self.rng.choice(cands)
        self.budget -= g.cost
        self.cur.cost += g.cost
        k = self.rng.randint(0, 9)
        return ("%s(%d)" % (g.name, k),) * 2

    # ---- statements -----------------------------------------------------------------------
    def stmt(self, o, depth, top=False):
        sid = self.sid
        self.sid += 1
        scratch = Out()
        scratch.pi, scratch.ci = o.pi, o.ci
        nhandles = len(self.handles)
        kind = self.stmt_into(scratch, depth, top)
        self.keep_or_drop(o, scratch, sid in self.drop, self.handles[nhandles:])
        return kind

    def keep_or_drop(self, o, scratch, drop, defined=()):
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", " ".join(scratch.py)))
        if drop or words & self.dead:
            self.dead.update(defined)
            return
        o.py.extend(scratch.py)
        o.cpp.extend(scratch.cpp)

    def stmt_into(self, o, depth, top=False):
        r = self.rng
        choices = [
            ("print", 3), ("time", 1), ("sleep0", 4), ("sleep", 3), ("call", 3),
            ("spawn", 5 if top else 0), ("await_task", 3), ("cancel", 2), ("cancel_msg", 2),
            ("status", 2), ("done_cb", 2), ("gather", 2), ("gather_rx", 2), ("gather_range", 1),
            ("gather_handles", 1), ("gather_empty", 0.3), ("raise", 1 if depth > 0 else 0.4),
            ("try", 3 if depth < 2 else 0), ("loop", 1 if depth < 2 else 0), ("call_soon", 1),
            ("call_later", 1), ("cancelling", 0.5), ("agen", 2 if self.agens else 0),
            ("future", 1.5), ("cancel_self", 0.3 if self.cur.index > 0 else 0),
            ("wait_for", 1.5), ("shield", 1),
        ]
        if self.queues:
            choices += [("q_put", 4), ("q_get", 2), ("q_put_nowait", 2), ("q_get_nowait", 2),
                        ("q_task_done", 2), ("q_join", 1), ("q_shutdown", 0.5), ("q_query", 1)]
        choices = [(k, w) for k, w in choices if w > 0 and self.on(k)]
        for _ in range(20):
            kind = r.choices([k for k, _ in choices], [w for _, w in choices])[0]
            if getattr(self, "s_" + kind)(o, depth):
                self.use(kind)
                return kind
        self.use("print")
        self.s_print(o, depth)
        return "print"

    def tag(self):
        return "%s.%d" % (self.cur.name, self.rng.randint(0, 999))

    def s_print(self, o, depth):
        self.P(o, self.tag())
        return True

    def s_time(self, o, depth):
        self.P(o, self.tag(), "t", ("T()", "S(T())"))
        return True

    def s_sleep0(self, o, depth):
        o.both("await asyncio.sleep(0)", "co_await asyncio::sleep(0s);")
        self.P(o, self.tag(), "woke")
        return True

    def s_sleep(self, o, depth):
        d = self.rng.randint(1, 3)
        o.both("await asyncio.sleep(%d)" % d, "co_await asyncio::sleep(%ds);" % d)
        self.P(o, self.tag(), "slept", ("T()", "S(T())"))
        return True

    def s_call(self, o, depth):
        c = self.call_expr()
        if c is None:
            return False
        v = self.var("v")
        o.both("%s = await %s" % (v, c[0]), "int %s = co_await %s;" % (v, c[1]))
        self.P(o, self.tag(), "got", (v, "S(%s)" % v))
        return True

    def s_spawn(self, o, depth):
        c = self.call_expr()
        if c is None:
            return False
        h = self.var("t")
        o.both("%s = asyncio.create_task(%s)" % (h, c[0]),
               "auto %s = asyncio::create_task(%s);" % (h, c[1]))
        self.handles.append(h)
        self.P(o, self.tag(), "spawned", h)
        return True

    def await_handle(self, o, h):
        v = self.var("v")
        o.both("%s = await %s" % (v, h), "int %s = co_await %s;" % (v, h))
        self.P(o, self.tag(), "awaited", h, (v, "S(%s)" % v))

    def s_await_task(self, o, depth):
        if not self.handles:
            return False
        self.await_handle(o, self.rng.choice(self.handles))
        return True

    def s_cancel(self, o, depth, msg=False):
        if not self.handles:
            return False
        h = self.rng.choice(self.handles)
        if msg:
            m = "m%d" % self.rng.randint(0, 99)
            o.both('c = %s.cancel("%s")' % (h, m), 'c = %s.cancel("%s");' % (h, m))
        else:
            o.both("c = %s.cancel()" % h, "c = %s.cancel();" % h)
        self.P(o, self.tag(), "cancel", h, ("c", "B(c)"))
        return True

    def s_cancel_msg(self, o, depth):
        return self.s_cancel(o, depth, msg=True)

    def s_status(self, o, depth):
        if not self.handles:
            return False
        h = self.rng.choice(self.handles)
        self.P(o, self.tag(), h, ("D(%s)" % h, "D(%s)" % h),
               ("%s.cancelling()" % h, "S(%s.cancelling())" % h))
        return True

    def s_done_cb(self, o, depth):
        if not self.handles:
            return False
        h = self.rng.choice(self.handles)
        tg = self.tag()
        o.both('%s.add_done_callback(lambda t: P("%s", "cb", D(t)))' % (h, tg),
               '(void)%s.add_done_callback([](asyncio::task_handle<int>& t) { '
               'P({"%s", "cb", D(t)}); });' % (h, tg))
        return True

    def gather_children(self, allow_handles, n):
        kids = []
        for _ in range(n):
            if allow_handles and self.handles and self.rng.random() < 0.4:
                kids.append((self.rng.choice(self.handles),) * 2)
            else:
                c = self.call_expr()
                if c is None:
                    break
                kids.append(c)
        return kids

    def s_gather(self, o, depth, rx=False):
        kids = self.gather_children(self.on("gather_finished"), self.rng.randint(1, 3))
        if not kids:
            return False
        g = self.var("g")
        py = ", ".join(k[0] for k in kids)
        cpp = ", ".join(k[1] for k in kids)
        if rx:
            o.both("%s = await asyncio.gather(%s, return_exceptions=True)" % (g, py),
                   "auto %s = co_await asyncio::gather(asyncio::return_exceptions, %s);"
                   % (g, cpp))
        else:
            o.both("%s = await asyncio.gather(%s)" % (g, py),
                   "auto %s = co_await asyncio::gather(%s);" % (g, cpp))
        self.P(o, self.tag(), "gathered", ("RV(%s)" % g, "RT(%s)" % g))
        return True

    def s_gather_rx(self, o, depth):
        return self.s_gather(o, depth, rx=True)

    def s_gather_range(self, o, depth):
        cands = [g for g in self.callees if 3 * g.cost <= self.budget]
        if not cands:
            return False
        f = self.rng.choice(cands)
        n = self.rng.randint(0, 3)
        self.budget -= n * f.cost
        self.cur.cost += n * f.cost
        rx = self.rng.random() < 0.5
        g, lv = self.var("g"), self.var("l")
        o.both(None, "std::vector<asyncio::task<int>> %s;" % lv)
        o.both(None, "for (int i = 0; i < %d; ++i) { %s.push_back(%s(i)); }" % (n, lv, f.name))
        if rx:
            o.both("%s = await asyncio.gather(*[%s(i) for i in range(%d)], "
                   "return_exceptions=True)" % (g, f.name, n),
                   "auto %s = co_await asyncio::gather(asyncio::return_exceptions, %s);"
                   % (g, lv))
        else:
            o.both("%s = await asyncio.gather(*[%s(i) for i in range(%d)])" % (g, f.name, n),
                   "auto %s = co_await asyncio::gather(%s);" % (g, lv))
        self.P(o, self.tag(), "range", ("RV(%s)" % g, "RV(%s)" % g))
        return True

    def s_gather_handles(self, o, depth):
        if not self.handles or not self.on("gather_finished"):
            return False
        hs = [self.rng.choice(self.handles) for _ in range(self.rng.randint(1, 3))]
        rx = self.rng.random() < 0.5
        g, lv = self.var("g"), self.var("l")
        o.both(None, "std::vector<asyncio::task_handle<int>> %s{%s};" % (lv, ", ".join(hs)))
        extra = ", return_exceptions=True" if rx else ""
        o.both("%s = await asyncio.gather(*[%s]%s)" % (g, ", ".join(hs), extra),
               "auto %s = co_await asyncio::gather(%s%s);"
               % (g, "asyncio::return_exceptions, " if rx else "", lv))
        self.P(o, self.tag(), "hgathered", ("RV(%s)" % g, "RV(%s)" % g))
        return True

    def s_gather_empty(self, o, depth):
        o.both("await asyncio.gather()", "(void)co_await asyncio::gather();")
        self.P(o, self.tag(), "gathered nothing")
        return True

    def s_raise(self, o, depth):
        m = "e%d" % self.rng.randint(0, 99)
        if self.rng.random() < 0.5:
            # Conditional on the argument, so that code after it stays reachable.
            k = self.rng.randint(0, 9)
            o.both("if a == %d:" % k, "if (a == %d) {" % k)
            o.pi += 1
            o.ci += 1
            self.P(o, self.tag(), "raising", m)
            o.both('raise Err("%s")' % m, 'throw err("%s");' % m)
            o.pi -= 1
            o.ci -= 1
            o.both(None, "}")
        else:
            self.P(o, self.tag(), "raising", m)
            o.both('raise Err("%s")' % m, 'throw err("%s");' % m)
        return True

    def block(self, o, depth, lo=1, hi=4):
        for _ in range(self.rng.randint(lo, hi)):
            if self.stmt(o, depth) == "raise":
                break

    def s_loop(self, o, depth):
        n = self.rng.randint(1, 3)
        i = self.var("i")
        o.both("for %s in range(%d):" % (i, n), "for (int %s = 0; %s < %d; ++%s) {" % (i, i, n, i))
        o.pi += 1
        o.ci += 1
        self.P(o, self.tag(), "iter", (i, "S(%s)" % i))
        self.block(o, depth + 1, 1, 3)
        o.pi -= 1
        o.ci -= 1
        o.both(None, "}")
        return True

    def s_try(self, o, depth):
        r = self.rng
        fin = self.on("finally") and r.random() < 0.3
        cmode = r.choice(["reraise", "swallow", "await_reraise", "await_swallow", "uncancel"]) \
            if self.on("except_cancel") and r.random() < 0.6 else None
        emode = r.choice(["print", "reraise"])
        tg = self.tag()
        if fin:
            self.use("finally")
            o.both(None, "try {")
            o.ci += 1
        saved = self.var("c") if cmode and cmode.startswith("await") else None
        if saved:
            o.both(None, "std::exception_ptr %s;" % saved)
        o.both("try:", "try {")
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "try")  # also keeps the body non-empty when the minimizer drops the rest
        self.block(o, depth + 1)
        o.pi -= 1
        o.ci -= 1
        o.both("except Err as e:", "} catch (const err&) {")
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "caught", ("X(e)", "X(std::current_exception())"))
        if emode == "reraise":
            o.both("raise", "throw;")
        o.pi -= 1
        o.ci -= 1
        if cmode:
            self.use("except_cancel")
            self.use("except_cancel_" + cmode)
            o.both("except asyncio.CancelledError as e:",
                   "} catch (const asyncio::cancelled_error&) {")
            o.pi += 1
            o.ci += 1
            self.P(o, tg, "cancelled", ("X(e)", "X(std::current_exception())"))
            if cmode == "reraise":
                o.both("raise", "throw;")
            elif cmode == "uncancel":
                self.P(o, tg, "uncancel", ("asyncio.current_task().uncancel()",
                                           "S(asyncio::current_task().uncancel())"))
            elif saved:
                o.both(None, "%s = std::current_exception();" % saved)
                o.ci -= 1
                o.both(None, "}")
                o.both(None, "if (%s) {" % saved)
                o.ci += 1
                o.both("await asyncio.sleep(0)", "co_await asyncio::sleep(0s);")
                self.P(o, tg, "after cancel")
                if cmode == "await_reraise":
                    o.both("raise", "std::rethrow_exception(%s);" % saved)
            o.pi -= 1
            o.ci -= 1
        o.both(None, "}")
        if fin:
            o.ci -= 1
            o.both("finally:", "} catch (...) {")
            o.pi += 1
            o.ci += 1
            self.P(o, tg, "finally")
            o.both(None, "throw;")
            o.pi -= 1
            o.ci -= 1
            o.both(None, "}")
            self.P(o, tg, "finally", cpp_only=True)
        self.P(o, tg, "after try")
        return True

    def s_call_soon(self, o, depth):
        tg = self.tag()
        o.both('asyncio.get_running_loop().call_soon(P, "%s", "soon")' % tg,
               '(void)asyncio::get_running_loop().call_soon([] { P({"%s", "soon"}); });' % tg)
        return True

    def s_call_later(self, o, depth):
        tg = self.tag()
        d = self.rng.randint(0, 3)
        o.both('asyncio.get_running_loop().call_later(%d, lambda: P("%s", "later", T()))'
               % (d, tg),
               '(void)asyncio::get_running_loop().call_later(%ds, [] { P({"%s", "later", S(T())}); });'
               % (d, tg))
        return True

    def s_cancelling(self, o, depth):
        self.P(o, self.tag(), "cancelling", ("asyncio.current_task().cancelling()",
                                             "S(asyncio::current_task().cancelling())"))
        return True

    def agen_def(self, name):
        """An async generator: prints, sleeps, yields and maybe raises, with a cleanup that awaits
        (C++: the cleanup follows the catch block, which records the exception)."""
        r = self.rng
        o = Out()
        o.pi = o.ci = 1
        o.both(None, "(void)a;")
        self.P(o, name, "start", ("a", "S(a)"))
        o.both(None, "std::exception_ptr fin;")
        o.both("try:", "try {")
        o.pi += 1
        o.ci += 1
        for _ in range(r.randint(1, 5)):
            k = r.random()
            if k < 0.45:
                v = r.randint(0, 99)
                o.both("yield %d" % v, "co_yield %d;" % v)
                self.P(o, name, "resumed", str(v))
            elif k < 0.65:
                o.both("await asyncio.sleep(0)", "co_await asyncio::sleep(0s);")
            elif k < 0.8:
                d = r.randint(1, 2)
                o.both("await asyncio.sleep(%d)" % d, "co_await asyncio::sleep(%ds);" % d)
            elif k < 0.92:
                self.P(o, name, "at", ("T()", "S(T())"))
            else:
                m = "g%d" % r.randint(0, 99)
                o.both("if a == %d:" % (r.randint(0, 3)), None)
                o.both(None, "if (a == %d) {" % int(o.py[-1].split("==")[1].strip(" :")))
                o.pi += 1
                o.ci += 1
                o.both('raise Err("%s")' % m, 'throw err("%s");' % m)
                o.pi -= 1
                o.ci -= 1
                o.both(None, "}")
        if not any("yield" in line for line in o.py):
            v = r.randint(0, 99)
            o.both("yield %d" % v, "co_yield %d;" % v)
        o.pi -= 1
        o.ci -= 1
        o.both("finally:", "} catch (...) {")
        o.pi += 1
        o.ci += 1
        o.both(None, "fin = std::current_exception();")
        o.ci -= 1
        o.both(None, "}")
        self.P(o, name, "cleanup")
        o.both("await asyncio.sleep(0)", "co_await asyncio::sleep(0s);")
        self.P(o, name, "cleaned up")
        o.both(None, "if (fin) {")
        o.both(None, "    std::rethrow_exception(fin);")
        o.both(None, "}")
        return name, o

    def s_agen(self, o, depth):
        name = self.rng.choice(self.agens)[0]
        lim = self.rng.choice([None, 0, 1, 2]) if self.on("agen_break") else None
        tg, ag, x, n = self.tag(), self.var("it"), self.var("x"), self.var("n")
        o.both("%s = %s(%d)" % (ag, name, self.rng.randint(0, 9)),
               "auto %s = %s(%d);" % (ag, name, self.rng.randint(0, 9)))
        # Same argument on both sides (the line above drew two numbers: use the first).
        arg = o.py[-1].split("(")[1].split(")")[0]
        o.cpp[-1] = "    " * o.ci + "auto %s = %s(%s);" % (ag, name, arg)
        o.both("%s = 0" % n, "int %s = 0;" % n)
        o.both("async for %s in %s:" % (x, ag),
               "while (auto %s = co_await %s.next()) {" % (x, ag))
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "item", (x, "S(*%s)" % x))
        if lim is not None:
            o.both("if %s == %d:" % (n, lim), "if (%s == %d) {" % (n, lim))
            o.both("    break", "    break;")
            o.both(None, "}")
        o.both("%s += 1" % n, "++%s;" % n)
        o.pi -= 1
        o.ci -= 1
        o.both(None, "}")
        o.both(None, "(void)%s;" % n)
        if lim is not None:
            self.use("agen_break")
            o.both("await %s.aclose()" % ag, "co_await %s.aclose();" % ag)
            self.P(o, tg, "closed")
        self.P(o, tg, "after agen")
        return True

    def s_future(self, o, depth):
        r = self.rng
        fu, v, tg = self.var("fu"), self.var("v"), self.tag()
        o.both("%s = asyncio.get_running_loop().create_future()" % fu,
               "auto %s = asyncio::get_running_loop().create_future<int>();" % fu)
        how = r.choice(["result", "result", "exception", "cancel"])
        d = r.randint(0, 2)
        if how == "result":
            k = r.randint(0, 99)
            o.both("asyncio.get_running_loop().call_later(%d, %s.set_result, %d)" % (d, fu, k),
                   "(void)asyncio::get_running_loop().call_later(%ds, [%s]() mutable { "
                   "if (!%s.done()) { %s.set_result(%d); } });" % (d, fu, fu, fu, k))
            # CPython's set_result on a cancelled future raises in the callback (reported, not
            # printed); the twin checks done() to keep the handler out of it.
            o.py[-1] = o.py[-1].replace("%s.set_result, %d)" % (fu, k),
                                        "lambda: %s.done() or %s.set_result(%d))" % (fu, fu, k))
        elif how == "exception":
            m = "x%d" % r.randint(0, 99)
            o.both('asyncio.get_running_loop().call_later(%d, lambda: %s.done() or '
                   '%s.set_exception(Err("%s")))' % (d, fu, fu, m),
                   '(void)asyncio::get_running_loop().call_later(%ds, [%s]() mutable { '
                   'if (!%s.done()) { %s.set_exception(std::make_exception_ptr(err("%s"))); } });'
                   % (d, fu, fu, fu, m))
        else:
            o.both("asyncio.get_running_loop().call_later(%d, %s.cancel)" % (d, fu),
                   "(void)asyncio::get_running_loop().call_later(%ds, [%s]() mutable { "
                   "(void)%s.cancel(); });" % (d, fu, fu))
        o.both("%s = await %s" % (v, fu), "int %s = co_await %s;" % (v, fu))
        self.P(o, tg, "future", (v, "S(%s)" % v))
        return True

    def s_wait_for(self, o, depth):
        c = self.call_expr()
        if c is None:
            return False
        d, v, tg = self.rng.randint(0, 3), self.var("v"), self.tag()
        o.both("try:", "try {")
        o.both("    %s = await asyncio.wait_for(%s, %d)" % (v, c[0], d),
               "    int %s = co_await asyncio::wait_for(%s, %ds);" % (v, c[1], d))
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "wait_for", (v, "S(%s)" % v))
        o.pi -= 1
        o.ci -= 1
        o.both("except TimeoutError:", "} catch (const asyncio::timeout_error&) {")
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "timed out")
        o.pi -= 1
        o.ci -= 1
        o.both(None, "}")
        return True

    def s_shield(self, o, depth):
        if not self.handles:
            return False
        h, v = self.rng.choice(self.handles), self.var("v")
        o.both("%s = await asyncio.shield(%s)" % (v, h), "int %s = co_await asyncio::shield(%s);"
               % (v, h))
        self.P(o, self.tag(), "shielded", h, (v, "S(%s)" % v))
        return True

    def s_cancel_self(self, o, depth):
        o.both("asyncio.current_task().cancel()", "(void)asyncio::current_task().cancel();")
        self.P(o, self.tag(), "cancelled itself")
        return True

    # ---- queues ---------------------------------------------------------------------------
    def q(self):
        return self.rng.choice(self.queues)[0]

    def guarded(self, o, py, cpp, what):
        tg = self.tag()
        o.both("try:", "try {")
        o.pi += 1
        o.ci += 1
        o.both(py, cpp)
        self.P(o, tg, what, "ok")
        o.pi -= 1
        o.ci -= 1
        o.both("except Exception as e:", "} catch (const std::exception&) {")
        o.pi += 1
        o.ci += 1
        self.P(o, tg, what, ("X(e)", "X(std::current_exception())"))
        o.pi -= 1
        o.ci -= 1
        o.both(None, "}")

    def s_q_put(self, o, depth):
        q, v = self.q(), self.rng.randint(0, 9)
        self.guarded(o, "await %s.put(%d)" % (q, v), "co_await %s->put(%d);" % (q, v), "put")
        return True

    def s_q_get(self, o, depth):
        q, v = self.q(), self.var("v")
        tg = self.tag()
        o.both("try:", "try {")
        o.pi += 1
        o.ci += 1
        o.both("%s = await %s.get()" % (v, q), "int %s = co_await %s->get();" % (v, q))
        self.P(o, tg, "get", (v, "S(%s)" % v))
        o.pi -= 1
        o.ci -= 1
        o.both("except Exception as e:", "} catch (const std::exception&) {")
        o.pi += 1
        o.ci += 1
        self.P(o, tg, "get", ("X(e)", "X(std::current_exception())"))
        o.pi -= 1
        o.ci -= 1
        o.both(None, "}")
        return True

    def s_q_put_nowait(self, o, depth):
        q, v = self.q(), self.rng.randint(0, 9)
        self.guarded(o, "%s.put_nowait(%d)" % (q, v), "%s->put_nowait(%d);" % (q, v), "put_nowait")
        return True

    def s_q_get_nowait(self, o, depth):
        q = self.q()
        self.guarded(o, 'P("got", %s.get_nowait())' % q,
                     'P({"got", S(%s->get_nowait())});' % q, "get_nowait")
        return True

    def s_q_task_done(self, o, depth):
        q = self.q()
        self.guarded(o, "%s.task_done()" % q, "%s->task_done();" % q, "task_done")
        return True

    def s_q_join(self, o, depth):
        q = self.q()
        o.both("await %s.join()" % q, "co_await %s->join();" % q)
        self.P(o, self.tag(), "joined")
        return True

    def s_q_shutdown(self, o, depth):
        q = self.q()
        imm = self.rng.random() < 0.5
        o.both("%s.shutdown(%s)" % (q, imm), "%s->shutdown(%s);" % (q, str(imm).lower()))
        self.P(o, self.tag(), "shutdown")
        return True

    def s_q_query(self, o, depth):
        q = self.q()
        self.P(o, self.tag(), "q", ("%s.qsize()" % q, "S(static_cast<long>(%s->qsize()))" % q),
               ("%s.empty()" % q, "B(%s->empty())" % q), ("%s.full()" % q, "B(%s->full())" % q))
        return True

    # ---- rendering ------------------------------------------------------------------------
    def render(self, bodies):
        ns = "p%d" % self.seed
        py = ["# Generated by tests/differential/gen.py from seed %d; do not edit." % self.seed,
              "import asyncio", "from pyrt import *  # noqa: F401,F403", ""]
        cpp = ["// Generated by tests/differential/gen.py from seed %d; do not edit." % self.seed,
               "namespace %s {" % ns, "using namespace difftest;"]
        for name, kind, size in self.queues:
            py.append("%s = None" % name)
            cpp.append("std::optional<%s> %s;" % (QUEUE_KINDS[kind][1], name))
        py.append("")
        py.append("def setup():")
        if self.queues:
            py.append("    global %s" % ", ".join(q[0] for q in self.queues))
        for name, kind, size in self.queues:
            py.append("    %s = %s(%d)" % (name, QUEUE_KINDS[kind][0], size))
        py.append("    pass")
        cpp.append("void setup() {")
        for name, kind, size in self.queues:
            cpp.append("    %s.emplace(%d);" % (name, size))
        cpp.append("}")
        cpp.append("void teardown() {")
        for name, kind, size in self.queues:
            cpp.append("    %s.reset();" % name)
        cpp.append("}")
        for name, o in self.agens:
            py.append("")
            py.append("async def %s(a):" % name)
            py.extend(o.py)
            cpp.append("asyncio::async_generator<int> %s(int a) {" % name)
            cpp.extend(o.cpp)
            cpp.append("}")
        for f in self.funcs:
            cpp.append("asyncio::task<int> %s(int a);" % f.name)
        for f in self.funcs:
            o = bodies[f.index]
            py.append("")
            py.append("async def %s(a):" % f.name)
            py.extend(o.py)
            cpp.append("asyncio::task<int> %s(int a) {" % f.name)
            if any("c = " in line and ".cancel(" in line for line in o.cpp):
                cpp.append("    bool c = false;")
                cpp.append("    (void)c;")
            cpp.extend(o.cpp)
            cpp.append("}")
        py += ["", "main = f0"]
        cpp.append("void run() { run_program(&f0, &setup, &teardown); }")
        cpp.append("} // namespace %s" % ns)
        return "\n".join(py) + "\n", "\n".join(cpp) + "\n"


def generate(seed, off=(), drop=()):
    """Returns (python_source, cpp_source, histogram) for `seed`."""
    g = Gen(seed, off, drop)
    py, cpp = g.generate()
    return py, cpp, g.hist


def statement_count(seed, off=()):
    """How many statements `seed` generates (the minimizer's range of `drop`)."""
    g = Gen(seed, off)
    g.generate()
    return g.sid


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--py")
    ap.add_argument("--cpp")
    ap.add_argument("--off", default="", help="comma-separated constructs to leave out")
    ns = ap.parse_args(argv)
    py, cpp, _ = generate(ns.seed, [k for k in ns.off.split(",") if k])
    if ns.py:
        open(ns.py, "w").write(py)
    if ns.cpp:
        open(ns.cpp, "w").write(cpp)
    if not ns.py and not ns.cpp:
        sys.stdout.write(py + "\n" + cpp)


if __name__ == "__main__":
    main()
