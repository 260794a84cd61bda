"""The host's mix of speeds, measured before the system starts: what moves the absolute targets.

Machines of this kind differ by up to three times in pace, and not along one axis. The CPU-heavy
figures (the bare endpoint, a page of the list) follow the interpreter's speed; the chains follow
how long a hop takes: a synchronous execute crosses about a dozen process boundaries (HTTP, Redis,
Celery's receipt and hand-offs between threads, PostgreSQL, the provider) one after another, a
no-op task makes three Redis round trips. Two machines with about the same bare endpoint (6,273-6,862
and 5,380-6,204 req/s) drained no-op tasks at 846-889 and at 461-540 tasks/s (stops 30 and 32,
bench/analysis.md): the page says which kind of machine it was measured on, so that runs on
different machines can be compared.

Each probe is the median of a few rounds on an otherwise idle machine, a few seconds in all.
"""

import asyncio
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from redis import Redis

ROUNDS = 3
LOOP_ADDITIONS = 1_000_000
HOPS = 3_000
# A child that answers each byte it reads with the same byte: one wake-up on each side per hop.
_ECHO = "import os\nwhile b := os.read(0, 1):\n    os.write(1, b)\n"


@dataclass(frozen=True)
class Pace:
    loop_ms: float  # a pure-Python loop of LOOP_ADDITIONS additions
    threads_us: float  # one round trip between two threads of a process (a queue each way)
    processes_us: float  # one round trip between two processes (a pipe each way)
    redis_us: float  # one PING from redis-py
    postgres_us: float  # one `SELECT 1` from asyncpg

    def line(self) -> str:
        return (
            "- The host's pace, before the system started (bench/pace.py, median of "
            f"{ROUNDS}): a pure-Python loop of {LOOP_ADDITIONS:,} additions "
            f"{self.loop_ms:.0f} ms; a round trip between two threads {self.threads_us:.0f} µs, "
            f"between two processes over pipes {self.processes_us:.0f} µs; a Redis PING from "
            f"redis-py {self.redis_us:.0f} µs; a PostgreSQL `SELECT 1` from asyncpg "
            f"{self.postgres_us:.0f} µs. The first sets the CPU-heavy figures, the others the "
            "chains of hops (target 4's path, the no-op drain)."
        )


def _median(probe: Callable[[], float]) -> float:
    return statistics.median(probe() for _ in range(ROUNDS))


def loop_ms() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(LOOP_ADDITIONS):
        total += i
    return (time.perf_counter() - started) * 1e3


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
    return Pace(
        loop_ms=_median(loop_ms),
        threads_us=_median(threads_us),
        processes_us=_median(processes_us),
        redis_us=_median(lambda: redis_us(redis_url)),
        postgres_us=_median(lambda: postgres_us(dsn)),
    )
