"""The queue backlog and worker liveness, read when `/metrics` or `/readyz` asks.

Why the API computes them (not the workers' exporters): it already holds PostgreSQL, Redis and a
Celery app, and the figures are fleet-wide, so one place answers however many workers run. Every
API replica reports the same values: aggregate them with `max`, not `sum`.

- Queue depth: LLEN of each queue's Redis list (cheap; read on every call). Messages being run
  are not in the list, so the depth counts only jobs waiting for a free worker thread.
- Oldest queued job age: from PostgreSQL, by kind, so it also covers asynchronous and batch jobs
  the dispatcher holds back under their company's limits (cached a few seconds).
- Workers alive: a Celery `ping` that returns at the first answer (cached a few seconds, one
  ping at a time, so a burst of probes costs one broadcast).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import structlog
from starlette.concurrency import run_in_threadpool

from shared.jobs.repository import oldest_queued_age_by_kind
from shared.queueing import KIND_QUEUE, Queue, broker_queue_key

if TYPE_CHECKING:
    from api.state import AppState

T = TypeVar("T")
logger = structlog.get_logger(__name__)

CACHE_SECONDS = 5.0
PING_TIMEOUT_SECONDS = 0.5
QUERY_TIMEOUT_SECONDS = 2.0


class _Cached(Generic[T]):
    """A value recomputed at most every `ttl` seconds, by one caller at a time."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value: T | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self, compute: Callable[[], Awaitable[T]]) -> T | None:
        if time.monotonic() < self._expires:
            return self._value
        async with self._lock:
            if time.monotonic() >= self._expires:
                self._value = await compute()
                self._expires = time.monotonic() + self.ttl
        return self._value


class Backlog:
    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self._ages: _Cached[dict[str, float] | None] = _Cached(ttl)
        self._alive: _Cached[bool | None] = _Cached(ttl)

    async def depths(self, state: "AppState") -> dict[str, int]:
        """Messages waiting in each queue's broker list, by queue (`interactive`, `default`...)."""
        async with state.broker.pipeline(transaction=False) as pipe:
            for queue in Queue:
                pipe.llen(broker_queue_key(state.settings, queue))
            lengths = await pipe.execute()
        return {queue.value: int(length) for queue, length in zip(Queue, lengths, strict=True)}

    async def oldest_ages(self, state: "AppState") -> dict[str, float] | None:
        """Seconds the oldest queued job has waited, by queue (0 when none waits); None on error."""

        async def compute() -> dict[str, float] | None:
            try:
                async with state.sessionmaker() as session:
                    by_kind = await asyncio.wait_for(
                        oldest_queued_age_by_kind(session), QUERY_TIMEOUT_SECONDS
                    )
            except Exception as exc:  # a scrape must answer; the gap in the series shows it
                logger.warning("oldest queued job age unavailable", error=type(exc).__name__)
                return None
            ages = {KIND_QUEUE[kind].value: 0.0 for kind in KIND_QUEUE}
            for kind, seconds in by_kind.items():
                queue = KIND_QUEUE.get(kind, Queue.default).value
                ages[queue] = max(ages[queue], seconds)
            return ages

        return await self._ages.get(compute)

    async def workers_alive(self, state: "AppState") -> bool | None:
        """Whether at least one worker answered a ping; None when the broker could not be asked."""

        def ping() -> bool:
            replies = state.celery.control.ping(timeout=PING_TIMEOUT_SECONDS, limit=1)
            return bool(replies)

        async def compute() -> bool | None:
            try:
                # The bound covers a broker that accepts connections but never answers.
                return await asyncio.wait_for(run_in_threadpool(ping), PING_TIMEOUT_SECONDS + 2)
            except Exception as exc:
                logger.warning("worker ping failed", error=type(exc).__name__)
                return None

        return await self._alive.get(compute)
