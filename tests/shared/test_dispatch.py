"""The dispatcher round against real PostgreSQL and Redis: fair shares, no job handed out twice."""

import pytest
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from sqlalchemy import func, select

from shared.config import get_settings
from shared.db import create_engine, create_sessionmaker
from shared.jobs.dispatch import dispatch_round, in_flight, lock_key
from shared.limits.limiter import Limiter
from shared.models import Job
from tests.factories import create_assistant, new_tenant
from tests.pipeline.limits_helpers import limit_company


async def _batch(client, tenant, count: int) -> None:  # type: ignore[no-untyped-def]
    assistant = await create_assistant(client, tenant)
    items = [{"customId": str(i), "userInput": f"dispatch {i}"} for i in range(count)]
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json={"items": items}, headers=tenant.headers
    )
    assert response.status_code == 202


@pytest.fixture
async def db():  # type: ignore[no-untyped-def]
    engine = create_engine(get_settings(), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_a_round_hands_out_distinct_jobs_shared_fairly_between_companies(
    client, db, monkeypatch
):
    """The round is called directly, holding the fleet's dispatcher lock, so a worker left
    running by other tests can't dispatch these jobs first."""
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    lock = Lock(redis, lock_key(settings), timeout=60, blocking_timeout=30)
    assert await lock.acquire()
    try:
        big, small = await new_tenant("big"), await new_tenant("small")
        for tenant in (big, small):
            await limit_company(tenant.company_id, rpm=100_000, concurrency=100_000)
        await _batch(client, big, 500)
        await _batch(client, small, 25)
        async with db() as session:  # other tests' jobs may be in flight: leave room for 600
            monkeypatch.setattr(settings, "dispatch_max_in_flight", await in_flight(session) + 600)
        async with db() as session, session.begin():
            result = await dispatch_round(session, Limiter(redis, settings), settings)
    finally:
        await lock.release()
        await redis.aclose()
    ids = [job_id for job_id, _ in result.granted]
    assert len(ids) == len(set(ids))  # never the same job twice
    async with db() as session:
        by_company = dict(
            (
                await session.execute(
                    select(Job.company_id, func.count())
                    .where(Job.id.in_(ids))
                    .group_by(Job.company_id)
                )
            ).all()
        )
    assert len(ids) <= 600
    assert by_company.get(small.company_id, 0) == 25  # not starved by the big company
    assert by_company.get(big.company_id, 0) >= 25  # which takes what is left
