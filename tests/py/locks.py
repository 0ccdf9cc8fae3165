# Twin of tests/locks_test.cpp (asyncio.Event, Lock, Semaphore, BoundedSemaphore, Condition,
# Barrier), each case on a fresh virtual-clock loop. "tick n" lines come from a task that logs
# once per loop iteration, so they show on which iteration each other line happens.
# Run with CPython 3.13: python3 tests/py/locks.py > tests/py/locks.expected
import asyncio

import virtual_clock

log = print


async def ticks(n):
    for i in range(n):
        log("tick", i)
        await asyncio.sleep(0)


async def event_set_wakes_waiters_in_wait_order():
    e = asyncio.Event()

    async def w(name):
        await e.wait()
        log(name)
    t0 = asyncio.create_task(w("w0"))
    t1 = asyncio.create_task(w("w1"))
    await asyncio.sleep(0)
    t2 = asyncio.create_task(w("w2"))
    e.set()
    await asyncio.gather(t0, t1, t2)


async def event_clear_after_set_keeps_delivered_wakeups():
    e = asyncio.Event()

    async def w(name):
        await e.wait()
        log(name, "woke")
    t0 = asyncio.create_task(w("w0"))
    t1 = asyncio.create_task(w("w1"))
    await asyncio.sleep(0)
    e.set()
    e.clear()
    late = asyncio.create_task(w("late"))
    await asyncio.gather(t0, t1)
    await asyncio.sleep(0)
    log("late done", late.done(), "is_set", e.is_set())
    e.set()
    await late


async def event_cancelled_waiter_is_skipped():
    e = asyncio.Event()

    async def w(name):
        try:
            await e.wait()
            log(name, "woke")
        except asyncio.CancelledError:
            log(name, "cancelled")
    t0 = asyncio.create_task(w("w0"))
    t1 = asyncio.create_task(w("w1"))
    await asyncio.sleep(0)
    t0.cancel()
    e.set()
    await asyncio.gather(t0, t1)


async def lock_release_of_unlocked_lock_raises():
    lk = asyncio.Lock()
    try:
        lk.release()
    except RuntimeError as e:
        log("RuntimeError", repr(str(e)))


async def lock_newcomer_queues_behind_woken_waiter():
    lk = asyncio.Lock()
    await lk.acquire()

    async def user(name):
        await lk.acquire()
        log(name, "acquired")
        await asyncio.sleep(0)
        lk.release()
        log(name, "released")
    b = asyncio.create_task(user("b"))
    tk = asyncio.create_task(ticks(6))
    await asyncio.sleep(0)
    lk.release()
    log("main released, locked", lk.locked())
    c = asyncio.create_task(user("c"))
    await asyncio.gather(b, c, tk)


async def lock_woken_then_cancelled_waiter_passes_wakeup_on():
    lk = asyncio.Lock()
    await lk.acquire()

    async def user(name):
        try:
            await lk.acquire()
        except asyncio.CancelledError:
            log(name, "cancelled, locked", lk.locked())
            return
        log(name, "acquired")
        lk.release()
    b = asyncio.create_task(user("b"))
    c = asyncio.create_task(user("c"))
    tk = asyncio.create_task(ticks(5))
    await asyncio.sleep(0)
    lk.release()
    b.cancel()
    log("main released and cancelled b")
    await asyncio.gather(b, c, tk)


async def lock_cancelled_waiter_delays_the_next_by_one_hop():
    lk = asyncio.Lock()
    await lk.acquire()

    async def user(name):
        try:
            await lk.acquire()
        except asyncio.CancelledError:
            log(name, "cancelled")
            return
        log(name, "acquired")
        lk.release()
    b = asyncio.create_task(user("b"))
    c = asyncio.create_task(user("c"))
    tk = asyncio.create_task(ticks(5))
    await asyncio.sleep(0)
    b.cancel()
    lk.release()
    log("main cancelled b and released")
    await asyncio.gather(b, c, tk)


async def lock_fast_path_when_all_waiters_are_cancelled():
    lk = asyncio.Lock()
    await lk.acquire()

    async def user(name):
        try:
            await lk.acquire()
        except asyncio.CancelledError:
            log(name, "cancelled")
            return
        log(name, "acquired")
        lk.release()
    b = asyncio.create_task(user("b"))
    await asyncio.sleep(0)
    b.cancel()
    lk.release()
    await lk.acquire()
    log("main re-acquired without waiting, b done", b.done())
    lk.release()
    await b


async def lock_guard_releases_on_scope_exit():
    lk = asyncio.Lock()
    async with lk:
        log("inside, locked", lk.locked())
    log("after, locked", lk.locked())
    try:
        async with lk:
            raise ValueError("boom")
    except ValueError:
        log("after error, locked", lk.locked())


async def semaphore_fifo_order_is_pinned():
    sem = asyncio.Semaphore(1)
    result = []

    async def coro(tag):
        await sem.acquire()
        result.append(f'{tag}_1')
        await asyncio.sleep(0.01)
        sem.release()
        await sem.acquire()
        result.append(f'{tag}_2')
        await asyncio.sleep(0.01)
        sem.release()
    await asyncio.gather(coro('c1'), coro('c2'), coro('c3'))
    log(",".join(result))


async def semaphore_negative_value_raises():
    try:
        asyncio.Semaphore(-1)
    except ValueError as e:
        log("ValueError", repr(str(e)))


async def bounded_semaphore_released_too_many_times_raises():
    sem = asyncio.BoundedSemaphore(2)
    await sem.acquire()
    sem.release()
    try:
        sem.release()
    except ValueError as e:
        log("ValueError", repr(str(e)))


async def semaphore_woken_then_cancelled_gives_its_unit_on():
    sem = asyncio.Semaphore(0)

    async def user(name):
        try:
            await sem.acquire()
        except asyncio.CancelledError:
            log(name, "cancelled, value", sem._value)
            return
        log(name, "acquired, value", sem._value)
    b = asyncio.create_task(user("b"))
    c = asyncio.create_task(user("c"))
    tk = asyncio.create_task(ticks(5))
    await asyncio.sleep(0)
    sem.release()
    b.cancel()
    log("main released and cancelled b, locked", sem.locked())
    await asyncio.gather(b, c, tk)
    log("value", sem._value)


async def semaphore_locked_while_a_waiter_is_not_cancelled():
    sem = asyncio.Semaphore(1)
    await sem.acquire()

    async def user():
        await sem.acquire()
    b = asyncio.create_task(user())
    await asyncio.sleep(0)
    sem.release()
    log("released: locked", sem.locked())
    await b
    log("b holds: locked", sem.locked())
    sem.release()
    log("released again: locked", sem.locked())
    b2 = asyncio.create_task(user())
    await asyncio.sleep(0)
    log("b2 took it: locked", sem.locked())
    sem.release()
    await sem.acquire()
    b3 = asyncio.create_task(user())
    await asyncio.sleep(0)
    b3.cancel()
    log("waiter cancelled: locked", sem.locked())
    sem.release()
    log("released with only a cancelled waiter: locked", sem.locked())
    await asyncio.gather(b2, b3, return_exceptions=True)


async def condition_wait_without_lock_raises():
    c = asyncio.Condition()
    try:
        await c.wait()
    except RuntimeError as e:
        log("wait: RuntimeError", repr(str(e)))
    try:
        c.notify()
    except RuntimeError as e:
        log("notify: RuntimeError", repr(str(e)))
    try:
        c.notify_all()
    except RuntimeError as e:
        log("notify_all: RuntimeError", repr(str(e)))


async def condition_notify_wakes_n_waiters_in_fifo_order():
    c = asyncio.Condition()

    async def w(name):
        async with c:
            await c.wait()
            log(name, "woke, locked", c.locked())
    ts = [asyncio.create_task(w(f"w{i}")) for i in range(4)]
    tk = asyncio.create_task(ticks(6))
    await asyncio.sleep(0)
    async with c:
        c.notify(2)
        log("notified 2")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    async with c:
        c.notify_all()
        log("notified all")
    await asyncio.gather(*ts, tk)


async def condition_wait_reacquires_the_lock_even_when_cancelled():
    c = asyncio.Condition()

    async def w():
        async with c:
            try:
                await c.wait()
            except asyncio.CancelledError:
                log("waiter: CancelledError, locked", c.locked())
                raise
    t = asyncio.create_task(w())
    await asyncio.sleep(0)
    await c.acquire()
    t.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    log("main still holds the lock, waiter done", t.done())
    c.release()
    try:
        await t
    except asyncio.CancelledError:
        log("waiter cancelled", t.cancelled(), "locked", c.locked())


async def condition_cancelled_while_reacquiring_still_reacquires():
    c = asyncio.Condition()

    async def w():
        async with c:
            try:
                await c.wait()
            except asyncio.CancelledError as e:
                log("waiter: CancelledError", repr(e.args[0] if e.args else ""), "locked",
                    c.locked())
                raise
    t = asyncio.create_task(w())
    await asyncio.sleep(0)
    async with c:
        c.notify()
        await asyncio.sleep(0)
        t.cancel("second")
        await asyncio.sleep(0)
        log("main releases")
    try:
        await t
    except asyncio.CancelledError:
        log("waiter cancelled", t.cancelled())


async def condition_cancelled_waiter_passes_notify_on():
    c = asyncio.Condition()

    async def w(name):
        async with c:
            try:
                await c.wait()
            except asyncio.CancelledError:
                log(name, "cancelled")
                raise
            log(name, "woke")
    a = asyncio.create_task(w("a"))
    b = asyncio.create_task(w("b"))
    await asyncio.sleep(0)
    async with c:
        c.notify(1)
        a.cancel()
    await asyncio.gather(a, b, return_exceptions=True)


async def condition_wait_for_returns_the_predicate_value():
    c = asyncio.Condition()
    state = [0]

    async def w():
        async with c:
            r = await c.wait_for(lambda: state[0] if state[0] >= 2 else 0)
            log("wait_for returned", r)
    t = asyncio.create_task(w())
    for _ in range(3):
        await asyncio.sleep(0)
        async with c:
            state[0] += 1
            log("state", state[0])
            c.notify()
    await t
    async with c:
        log("ready at once:", await c.wait_for(lambda: 7))


async def barrier_last_arrival_gets_last_index_and_resumes_first():
    b = asyncio.Barrier(3)

    async def w(name):
        i = await b.wait()
        log(name, "index", i)
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(3)]
    await asyncio.sleep(0)
    log("n_waiting", b.n_waiting)
    await asyncio.gather(*ts)
    log("n_waiting", b.n_waiting, "broken", b.broken)


async def barrier_new_arrivals_wait_for_the_next_cycle():
    b = asyncio.Barrier(2)

    async def w(name):
        i = await b.wait()
        log(name, "index", i)
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(4)]
    await asyncio.gather(*ts)


async def barrier_reset_breaks_the_current_waiters():
    b = asyncio.Barrier(3)

    async def w(name):
        try:
            await b.wait()
        except asyncio.BrokenBarrierError as e:
            log(name, "BrokenBarrierError", repr(str(e)))
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(2)]
    await asyncio.sleep(0)
    await b.reset()
    await asyncio.gather(*ts)
    log("after reset: n_waiting", b.n_waiting, "broken", b.broken)
    ts = [asyncio.create_task(b.wait()) for i in range(3)]
    log("refilled:", sorted(await asyncio.gather(*ts)))


async def barrier_abort_breaks_it_for_good():
    b = asyncio.Barrier(2)

    async def w(name):
        try:
            await b.wait()
        except asyncio.BrokenBarrierError as e:
            log(name, "BrokenBarrierError", repr(str(e)))
    t = asyncio.create_task(w("t0"))
    await asyncio.sleep(0)
    await b.abort()
    await t
    log("broken", b.broken)
    await w("late")


async def barrier_cancelled_waiter_leaves():
    b = asyncio.Barrier(3)
    ts = [asyncio.create_task(b.wait()) for i in range(2)]
    await asyncio.sleep(0)
    log("n_waiting", b.n_waiting)
    ts[0].cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    log("after cancel: n_waiting", b.n_waiting, "cancelled", ts[0].cancelled())
    ts += [asyncio.create_task(b.wait()) for i in range(2)]
    log("indices", await asyncio.gather(*ts[1:]))


async def barrier_hops_while_filling_and_draining():
    b = asyncio.Barrier(2)

    async def w(name):
        log(name, "arrives")
        i = await b.wait()
        log(name, "index", i, "n_waiting", b.n_waiting)
    tk = asyncio.create_task(ticks(8))
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(4)]
    await asyncio.gather(*ts, tk)


async def barrier_hops_of_reset_and_abort():
    b = asyncio.Barrier(3)

    async def w(name):
        try:
            log(name, "index", await b.wait())
        except asyncio.BrokenBarrierError as e:
            log(name, "BrokenBarrierError", repr(str(e)))
    tk = asyncio.create_task(ticks(8))
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(2)]
    await asyncio.sleep(0)
    await b.reset()
    log("reset returned")
    ts.append(asyncio.create_task(w("t2")))
    await asyncio.sleep(0)
    await b.abort()
    log("abort returned, broken", b.broken)
    await asyncio.gather(*ts, tk)


async def barrier_cancel_while_filling():
    b = asyncio.Barrier(3)

    async def w(name):
        try:
            log(name, "index", await b.wait())
        except asyncio.CancelledError:
            log(name, "CancelledError, n_waiting", b.n_waiting)
            raise
    tk = asyncio.create_task(ticks(6))
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(2)]
    await asyncio.sleep(0)
    ts[1].cancel()
    log("cancel sent, n_waiting", b.n_waiting)
    await asyncio.sleep(0)
    log("n_waiting", b.n_waiting, "t1 cancelled", ts[1].cancelled())
    ts.append(asyncio.create_task(w("t2")))
    ts.append(asyncio.create_task(w("t3")))
    await asyncio.gather(ts[0], ts[2], ts[3], tk)


async def barrier_cancel_while_draining():
    b = asyncio.Barrier(3)

    async def w(name):
        try:
            log(name, "index", await b.wait())
        except asyncio.CancelledError:
            log(name, "CancelledError, n_waiting", b.n_waiting)
            raise
    tk = asyncio.create_task(ticks(6))
    ts = [asyncio.create_task(w(f"t{i}")) for i in range(3)]
    blocked = asyncio.create_task(w("blocked"))
    late = asyncio.create_task(w("late"))
    await asyncio.sleep(0)
    ts[0].cancel()
    blocked.cancel()
    log("t0 (woken) and blocked (draining) cancelled")
    await asyncio.sleep(0)
    log("n_waiting", b.n_waiting)
    await asyncio.gather(*ts, blocked, tk, return_exceptions=True)
    log("cancelled", [t.cancelled() for t in ts], blocked.cancelled(), "n_waiting", b.n_waiting)
    ts = [asyncio.create_task(w(f"u{i}")) for i in range(2)]
    await asyncio.gather(late, *ts)


async def barrier_zero_parties_raises():
    try:
        asyncio.Barrier(0)
    except ValueError as e:
        log("ValueError", repr(str(e)))


for case in (event_set_wakes_waiters_in_wait_order, event_clear_after_set_keeps_delivered_wakeups,
             event_cancelled_waiter_is_skipped, lock_release_of_unlocked_lock_raises,
             lock_newcomer_queues_behind_woken_waiter,
             lock_woken_then_cancelled_waiter_passes_wakeup_on,
             lock_cancelled_waiter_delays_the_next_by_one_hop,
             lock_fast_path_when_all_waiters_are_cancelled, lock_guard_releases_on_scope_exit,
             semaphore_fifo_order_is_pinned, semaphore_negative_value_raises,
             bounded_semaphore_released_too_many_times_raises,
             semaphore_woken_then_cancelled_gives_its_unit_on,
             semaphore_locked_while_a_waiter_is_not_cancelled,
             condition_wait_without_lock_raises, condition_notify_wakes_n_waiters_in_fifo_order,
             condition_wait_reacquires_the_lock_even_when_cancelled,
             condition_cancelled_while_reacquiring_still_reacquires,
             condition_cancelled_waiter_passes_notify_on,
             condition_wait_for_returns_the_predicate_value,
             barrier_last_arrival_gets_last_index_and_resumes_first,
             barrier_new_arrivals_wait_for_the_next_cycle,
             barrier_reset_breaks_the_current_waiters, barrier_abort_breaks_it_for_good,
             barrier_cancelled_waiter_leaves, barrier_hops_while_filling_and_draining,
             barrier_hops_of_reset_and_abort, barrier_cancel_while_filling,
             barrier_cancel_while_draining, barrier_zero_parties_raises):
    print("--", case.__name__)
    virtual_clock.run(case())
