#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python asyncio (and uvloop) peer of the W1-W6 workloads of bench/peers/compare.sh.

    /usr/bin/python3 bench/peers/python_peer.py WORKLOAD N [--uvloop]

WORKLOAD is one of W1, W2, W3-1p1c, W3-4p4c, W4, W5, W6; N counts operations (see compare.sh's
header for what one operation is). Checks its result and prints exactly one line:

    <peer> <workload> N=<n> total_s=<seconds> ns_per_op=<ns>

Standard library only (plus uvloop with --uvloop, from Debian's python3-uvloop).
"""

import asyncio
import random
import socket
import sys
import threading
import time

W2_TASKS = 1000
W4_MAX_DELAY_S = 0.050
W4_SEED = 42
W5_DEPTH = 10_000


async def w1_child(i):
    return i


async def w1(n):
    tasks = [asyncio.create_task(w1_child(i)) for i in range(n)]
    results = await asyncio.gather(*tasks)
    total = sum(results)
    expected = n * (n - 1) // 2
    if total != expected:
        raise SystemExit(f"W1: sum {total}, expected {expected}")


async def w2_yielder(rounds, counter):
    for _ in range(rounds):
        await asyncio.sleep(0)
    counter[0] += rounds


async def w2(n):
    rounds = n // W2_TASKS
    counter = [0]
    await asyncio.gather(*(w2_yielder(rounds, counter) for _ in range(W2_TASKS)))
    if counter[0] != n:
        raise SystemExit(f"W2: {counter[0]} yields, expected {n}")


async def w3_producer(q, first, count):
    for i in range(first, first + count):
        await q.put(i)


async def w3_consumer(q, count, sums, slot):
    total = 0
    for _ in range(count):
        total += await q.get()
        q.task_done()
    sums[slot] = total


async def w3(n, pairs):
    q = asyncio.Queue(maxsize=1024)
    per = n // pairs
    sums = [0] * pairs
    consumers = [asyncio.create_task(w3_consumer(q, per, sums, c)) for c in range(pairs)]
    producers = [asyncio.create_task(w3_producer(q, p * per, per)) for p in range(pairs)]
    await asyncio.gather(*producers)
    await q.join()
    await asyncio.gather(*consumers)
    total = sum(sums)
    expected = n * (n - 1) // 2
    if total != expected or q.qsize() != 0:
        raise SystemExit(f"W3: sum {total}, expected {expected}, {q.qsize()} left")


async def w4_sleeper(delay, done):
    await asyncio.sleep(delay)
    done[0] += 1


async def w4(n):
    rng = random.Random(W4_SEED)
    delays = [rng.random() * W4_MAX_DELAY_S for _ in range(n)]
    done = [0]
    await asyncio.gather(*(w4_sleeper(d, done) for d in delays))
    if done[0] != n:
        raise SystemExit(f"W4: {done[0]} timers fired, expected {n}")


async def w5_chain(depth):
    if depth == 0:
        return 0
    return 1 + await w5_chain(depth - 1)


async def w5(n):
    reps = n // W5_DEPTH
    for _ in range(reps):
        levels = await w5_chain(W5_DEPTH)
        if levels != W5_DEPTH:
            raise SystemExit(f"W5: depth {levels}, expected {W5_DEPTH}")


async def w6_echo(loop, sock, n):
    for _ in range(n):
        b = await loop.sock_recv(sock, 1)
        if len(b) != 1:
            raise SystemExit("W6: peer closed early")
        await loop.sock_sendall(sock, b)


async def w6(n):
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    echo = asyncio.create_task(w6_echo(loop, b, n))
    trips = 0
    for _ in range(n):
        await loop.sock_sendall(a, b"x")
        if await loop.sock_recv(a, 1) == b"x":
            trips += 1
    await echo
    a.close()
    b.close()
    if trips != n:
        raise SystemExit(f"W6: {trips} round trips, expected {n}")


WORKLOADS = {
    "W1": w1,
    "W2": w2,
    "W3-1p1c": lambda n: w3(n, 1),
    "W3-4p4c": lambda n: w3(n, 4),
    "W4": w4,
    "W5": w5,
    "W6": w6,
}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    use_uvloop = "--uvloop" in sys.argv[1:]
    if len(args) != 2 or args[0] not in WORKLOADS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(WORKLOADS)}}} N [--uvloop]")
    workload, n = args[0], int(args[1])
    peer = "uvloop" if use_uvloop else "python"
    if use_uvloop:
        import uvloop

        # Sets the event loop policy, so asyncio.run below builds a uvloop loop.
        uvloop.install()

    result = {}

    def body():
        try:
            start = time.perf_counter()
            asyncio.run(WORKLOADS[workload](n))
            result["wall"] = time.perf_counter() - start
        except BaseException as e:  # noqa: B036 - reported by the main thread
            result["error"] = e

    # W5 nests 10,000 coroutine awaits: each level takes C stack and a recursion-limit slot, so
    # the run happens on a thread with a large stack and a raised limit (for every workload alike).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * W5_DEPTH))
    threading.stack_size(256 * 1024 * 1024)
    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    if "wall" not in result:
        raise SystemExit(f"{peer} {workload} failed: {result.get('error')!r}")
    wall = result["wall"]
    work = wall - W4_MAX_DELAY_S if workload == "W4" else wall
    print(f"{peer} {workload} N={n} total_s={wall:.6f} ns_per_op={work * 1e9 / n:.1f}")


if __name__ == "__main__":
    main()
