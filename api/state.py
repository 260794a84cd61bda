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
from shared.db import create_driver_pool
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


# A statement of the API's own pool is prepared, and planned, again once it is this old: the
# assistants table grows by requests, so a plan made for a smaller table lasts seconds at most.
PLAN_MAX_AGE_SECONDS = 5.0


async def statement_pool(settings: Settings) -> asyncpg.Pool:
    """asyncpg's own pool (`create_driver_pool`) for the API's hottest single statements: the
    assistants' list and get (`shared.assistants.bodies`) and a new conversation's admission
    (`shared.jobs.fresh_admission`).

    Why generic plans (`plan_cache_mode`): PostgreSQL's own choice planned a list page again at
    every execution, 0.60 ms of its CPU per first page against 0.27 with the plan made once, and
    under the CRUD benchmark PostgreSQL's backends share the API's two cores. Made for no
    particular company or page, the plans still walk the sort's index and find rows by primary
    key on a grown table (tests/api/test_statement_plans.py). Made while the table is small,
    they scan it whole, so a statement is prepared again once `PLAN_MAX_AGE_SECONDS` old, as the
    workers' job path does (`workers.runtime.job_path_pool`).
    """
    return await create_driver_pool(
        settings,
        settings.database_pool_size,
        server_settings={"plan_cache_mode": "force_generic_plan"},
        statement_lifetime=PLAN_MAX_AGE_SECONDS,
    )
