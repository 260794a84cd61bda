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

import httpx
import uvloop
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings, get_settings
from shared.db import create_engine, create_sessionmaker
from shared.limits.limiter import Limiter
from workers.cpu_group import include_database_backends
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
    """Short transactions only, one claim and one outcome per chunk: a few connections serve
    hundreds of in-flight calls (sized on its own, not from the thread count)."""
    return create_engine(
        settings, pool_size=settings.worker_database_pool_size, plan_max_age=PLAN_MAX_AGE_SECONDS
    )


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="worker-io", daemon=True)
        self._thread.start()
        self.engine = worker_engine(settings)
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
