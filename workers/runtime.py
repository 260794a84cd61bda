"""A worker process's resources, and the bridge from Celery's threads to one asyncio loop.

Why threads plus one loop: jobs are I/O-bound (a provider call of seconds), and the async SDKs,
asyncpg and redis.asyncio multiplex hundreds of calls on one event loop cheaply. Celery's
`threads` pool gives each in-flight task a cheap OS thread that only blocks on a future, while
all I/O runs on the process's single loop with shared connection pools. (gevent cannot drive
asyncpg, and prefork would need one process per in-flight call.)
"""

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvloop
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings, get_settings
from shared.db import create_driver_pool, create_engine, create_sessionmaker
from shared.limits.limiter import Limiter
from workers.cpu_group import database_backend_joiner, include_database_backends
from workers.jobs.capacity import CallCapacity
from workers.providers.base import Provider
from workers.providers.registry import build_providers

T = TypeVar("T")

# The idle CPU group this process joined at start (`celery_app`), if any: its database backends
# join it too.
idle_cpu_group: Path | None = None


# The jobs table's size swings with every batch: a worker's connections drop their plans this
# often (`create_engine`), so a plan made for another size of the table lives a second at most.
PLAN_MAX_AGE_SECONDS = 1.0


def worker_engine(settings: Settings) -> AsyncEngine:
    """Short transactions only (dispatcher rounds, lease renewals, hand-backs, the reaper, the
    outcomes that start a session's next turn): half the job path's pool serves them (sized on
    its own, not from the thread count)."""
    return create_engine(
        settings,
        pool_size=max(2, settings.worker_database_pool_size // 2),
        plan_max_age=PLAN_MAX_AGE_SECONDS,
    )


async def job_path_pool(settings: Settings) -> asyncpg.Pool:
    """asyncpg's own pool (`create_driver_pool`) for the two statements every job runs, its claim
    and its outcome (`lifecycle_sql.CLAIM` and `FINISH`), one statement each per chunk outside a
    transaction: a few connections serve hundreds of in-flight calls.

    Why generic plans (`plan_cache_mode`): both take their jobs as arrays, whose length a generic
    plan can't know, so PostgreSQL's own choice was to plan them again at every execution: 0.31
    ms of planning for a claim that executes in 0.16, 0.62 ms for an outcome that executes in
    0.42 (its log, 300 synchronous requests). Their generic plans find jobs and sessions by
    primary key whatever the length. A statement is prepared again once it is
    `PLAN_MAX_AGE_SECONDS` old (`max_cached_statement_lifetime`), so a plan made while the table
    was small lasts a second at most, as on the engine's connections. The other statements stay
    on `worker_engine`, with PostgreSQL's choice: several filter on a status given as a
    parameter, which a generic plan can't match to the partial indexes on status.

    Its connections open with the runtime (`open_at_start`), before the worker's first claim, not
    one by one as the first chunks' claims and outcomes need them: each costs a connection's
    setup (its type codecs, and the CPU group's move where that is on) in the middle of the first
    jobs. A freshly started worker, as one a fleet scales out with, then drains at full speed from
    its first chunk: 3,000-item drains by a fresh worker ran 2-5% faster (three alternating pairs,
    docs/benchmarks.md, forty-eighth run).
    """
    join_group = (
        database_backend_joiner(idle_cpu_group)
        if idle_cpu_group is not None and settings.worker_idle_cpu_group_includes_database
        else None
    )

    return await create_driver_pool(
        settings,
        settings.worker_database_pool_size,
        server_settings={"plan_cache_mode": "force_generic_plan"},
        statement_lifetime=PLAN_MAX_AGE_SECONDS,
        init=join_group,
        open_at_start=True,
    )


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="worker-io", daemon=True)
        self._thread.start()
        self.engine = worker_engine(settings)
        self.job_pool = self.run(job_path_pool(settings))
        if idle_cpu_group is not None and settings.worker_idle_cpu_group_includes_database:
            include_database_backends(self.engine, idle_cpu_group)
        self.stopping = False  # set at warm shutdown: long-running loops (the dispatcher) end
        self.sessionmaker = create_sessionmaker(self.engine)
        self.redis = Redis.from_url(settings.redis_url)
        self.limiter = Limiter(self.redis, settings)
        self.providers: dict[str, Provider] = build_providers(settings)
        self.capacity = CallCapacity(settings.worker_max_calls, settings.worker_min_part)
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the process's loop and wait for it from the calling (Celery) thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        async def _close() -> None:
            for provider in self.providers.values():
                await provider.aclose()  # type: ignore[attr-defined]
            await self.http.aclose()
            await self.redis.aclose()
            await self.engine.dispose()
            await self.job_pool.close()

        self.run(_close())
        self.loop.call_soon_threadsafe(self.loop.stop)


_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    """The process's runtime, created on first use (never at import, never shared across fork)."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = Runtime(get_settings())
    return _runtime


def reset_after_fork() -> None:
    global _runtime
    _runtime = None
