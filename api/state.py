"""Per-process resources of the API, created in the lifespan and reached through `app.state`."""

from dataclasses import dataclass
from typing import Any

import asyncpg
from celery import Celery
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.jobs.waiter import JobWaiter
from api.monitoring.backlog import Backlog
from shared.auth.cache import EpochCache
from shared.config import Settings
from shared.jobs.assistant_sizes import AssistantSizes
from shared.jobs.fresh_admission import GroupInsert
from shared.limits.limiter import Limiter
from shared.limits.queued import QueuedGauge


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis  # REDIS_URL's: limiter, tenancy epoch, job-done notifications, caches
    broker: Redis  # the broker's (the same client unless CELERY_BROKER_URL differs): queue lists
    celery: Celery
    waiter: JobWaiter
    limiter: Limiter
    backlog: Backlog
    tenancy: EpochCache[Any]  # principals by key digest, limits by company
    queued: QueuedGauge  # the queued-jobs cap, counted now and then
    statements: asyncpg.Pool  # asyncpg's own: new conversations' admissions, assistants' reads
    admissions: GroupInsert  # writes new-conversation jobs, many per statement under load
    assistant_sizes: AssistantSizes  # what the limiter's estimate needs, as admissions last saw
    dispatch_requested_at: float = 0.0  # monotonic time of this process's last wake-up call
