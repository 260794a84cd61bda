"""The host's mix of speeds: what moves the absolute targets from one machine to the next.

Machines of this kind differ by up to three times in pace, and not along one axis: some figures are
CPU-heavy (the bare endpoint, a page of the list), others chains of hops (a synchronous execute
crosses about a dozen process boundaries one after another, a no-op task makes three Redis round
trips). Two machines with about the same bare endpoint (6,273-6,862 and 5,380-6,204 req/s) drained
no-op tasks at 846-889 and at 461-540 tasks/s (stops 30 and 32, bench/analysis.md): the page says
which kind of machine it was measured on, so that runs on different machines can be compared.

The idle probes (each the median of a few rounds, a few seconds in all) run one thing at a time,
and a machine can be quick at that and slow when both cores work, which the whole system does:
stop 33's machine hopped between threads slower than stop 32's (57-62 against 41-47 µs) and
drained no-op tasks twice as fast. So the page also shows how two loops at once, one per core,
compare with one alone (two independent cores: about 1.0; two threads of one core or a crowded
host: more), the CPU time the hypervisor took from the machine during the whole bench (steal),
and what a step costs the interpreter when its data is not in the core's cache (the loop's all is:
the service's processes hold tens of megabytes each and touch them all over).
"""

import asyncio
import os
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from redis import Redis

ROUNDS = 3
LOOP_ADDITIONS = 1_000_000
HOPS = 3_000
# A child that answers each byte it reads with the same byte: one wake-up on each side per hop.
_ECHO = "import os\nwhile b := os.read(0, 1):\n    os.write(1, b)\n"
# Long enough (about a tenth of a second) that starting two of them a few microseconds apart
# does not matter.
LOOP_AT_ONCE_ADDITIONS = 5 * LOOP_ADDITIONS
# About 40 MB of list slots and int objects, twenty times a core's L2 here, stepped through in a
# random cycle: most steps miss the cache.
CHASE_SLOTS = 1_000_000
CHASE_STEPS = CHASE_SLOTS  # the whole cycle: every slot once
# A child that says it is ready, waits for the word, then times its loop.
# The loop sits in a function, as in loop_ms: a module-level loop's names are dict lookups.
_TIMED_LOOP = (
    "import sys, time\n"
    "def loop(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read(1)\n"
    "started = time.perf_counter()\n"
    "loop(int(sys.argv[1]))\n"
    "print((time.perf_counter() - started) * 1e3, flush=True)\n"
)


@dataclass(frozen=True)
class Pace:
    loop_ms: float  # a pure-Python loop of LOOP_ADDITIONS additions
    threads_us: float  # one round trip between two threads of a process (a queue each way)
    processes_us: float  # one round trip between two processes (a pipe each way)
    redis_us: float  # one PING from redis-py
    postgres_us: float  # one `SELECT 1` from asyncpg
    both_cores: float  # the slower of two loops at once, one per process, over one loop alone
    chase_ns: float  # one step of a random cycle through CHASE_SLOTS list slots

    def line(self) -> str:
        return (
            "- The host's pace, before the system started (bench/pace.py, median of "
            f"{ROUNDS}): a pure-Python loop of {LOOP_ADDITIONS:,} additions "
            f"{self.loop_ms:.0f} ms; a step through a random cycle of {CHASE_SLOTS:,} list slots "
            f"(about 40 MB: most steps miss the cache) {self.chase_ns:.0f} ns; a round trip "
            f"between two threads {self.threads_us:.0f} µs, "
            f"between two processes over pipes {self.processes_us:.0f} µs; a Redis PING from "
            f"redis-py {self.redis_us:.0f} µs; a PostgreSQL `SELECT 1` from asyncpg "
            f"{self.postgres_us:.0f} µs; two such loops at once, each in its own process, "
            f"{self.both_cores:.2f}x the time of one alone (two independent cores: about 1.0). "
            "Each is one kind of work the system does (interpreting, missing the cache, "
            "hopping between threads, processes and servers, both cores busy at once); which of "
            "them sets a host's pace is still being learnt (bench/analysis.md)."
        )


def _median(probe: Callable[[], float]) -> float:
    return statistics.median(probe() for _ in range(ROUNDS))


def loop_ms() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(LOOP_ADDITIONS):
        total += i
    return (time.perf_counter() - started) * 1e3


def cycle(slots: int = CHASE_SLOTS) -> list[int]:
    """`next_slot[i]` for one random cycle through every slot (a fixed seed: the same walk on
    every machine)."""
    order = list(range(slots))
    random.Random(7).shuffle(order)
    next_slot = [0] * slots
    for here, there in zip(order, order[1:] + order[:1], strict=True):
        next_slot[here] = there
    return next_slot


def chase_ns(next_slot: list[int], steps: int = CHASE_STEPS) -> float:
    slot = 0
    started = time.perf_counter()
    for _ in range(steps):
        slot = next_slot[slot]
    return (time.perf_counter() - started) / steps * 1e9


def threads_us(hops: int = HOPS) -> float:
    there: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        while (item := there.get()) is not None:
            back.put(item)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    there.put(0)
    back.get()  # the thread runs: its start is not a hop
    started = time.perf_counter()
    for i in range(hops):
        there.put(i)
        back.get()
    elapsed = time.perf_counter() - started
    there.put(None)
    thread.join()
    return elapsed / hops * 1e6


def processes_us(hops: int = HOPS) -> float:
    child = subprocess.Popen(
        [sys.executable, "-c", _ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    to_child, from_child = child.stdin.fileno(), child.stdout.fileno()
    try:
        os.write(to_child, b"x")
        os.read(from_child, 1)  # the child runs: its start is not a hop
        started = time.perf_counter()
        for _ in range(hops):
            os.write(to_child, b"x")
            os.read(from_child, 1)
        return (time.perf_counter() - started) / hops * 1e6
    finally:
        child.stdin.close()
        child.wait(timeout=10)
        child.stdout.close()


def loops_at_once(count: int, additions: int = LOOP_AT_ONCE_ADDITIONS) -> float:
    """The slowest of `count` loops started together, each in its own process, in ms."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _TIMED_LOOP, str(additions)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:  # the word, to every child at once: their loops overlap
            assert child.stdin is not None
            child.stdin.write("x")
            child.stdin.flush()
        return max(float(child.communicate(timeout=60)[0]) for child in children)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def both_cores() -> float:
    alone = _median(lambda: loops_at_once(1))
    return _median(lambda: loops_at_once(2)) / alone


def redis_us(url: str, hops: int = HOPS) -> float:
    client = Redis.from_url(url)
    try:
        client.ping()
        started = time.perf_counter()
        for _ in range(hops):
            client.ping()
        return (time.perf_counter() - started) / hops * 1e6
    finally:
        client.close()


def postgres_us(dsn: str, hops: int = HOPS) -> float:
    async def go() -> float:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.fetchval("SELECT 1")
            started = time.perf_counter()
            for _ in range(hops):
                await connection.fetchval("SELECT 1")
            return (time.perf_counter() - started) / hops * 1e6
        finally:
            await connection.close()

    return asyncio.run(go())


def measure(redis_url: str, dsn: str) -> Pace:
    next_slot = cycle()
    return Pace(
        loop_ms=_median(loop_ms),
        chase_ns=_median(lambda: chase_ns(next_slot)),
        threads_us=_median(threads_us),
        processes_us=_median(processes_us),
        redis_us=_median(lambda: redis_us(redis_url)),
        postgres_us=_median(lambda: postgres_us(dsn)),
        both_cores=both_cores(),
    )


@dataclass(frozen=True)
class CpuTimes:
    """The whole machine's CPU time since boot, in clock ticks (/proc/stat's first line)."""

    stolen: int
    total: int

    @classmethod
    def read(cls) -> "CpuTimes":
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
        # user nice system idle iowait irq softirq steal (guest time is inside user already)
        ticks = [int(field) for field in line.split()[1:9]]
        return cls(stolen=ticks[7], total=sum(ticks))


def steal_line(before: CpuTimes, after: CpuTimes) -> str:
    total = after.total - before.total
    share = (after.stolen - before.stolen) / total if total > 0 else 0.0
    return (
        "- CPU time the hypervisor took from this machine during the bench (steal, /proc/stat): "
        f"{share:.1%} of its cores' time (a crowded host shows here, and nowhere else on the page)."
    )
