"""A chunk's outcomes are written by a few multi-row statements: exactly once, fenced by claim."""

import uuid
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select

from shared.config import get_settings
from shared.jobs import lifecycle
from shared.jobs.lifecycle import Outcome
from shared.models import Job, SessionMessage, UsageRecord
from tests.factories import create_assistant
from tests.shared.test_session_turns import LEASE, _admit, sessions  # noqa: F401
from workers.runtime import job_path_pool


@asynccontextmanager
async def _executors(sessions, through):  # noqa: F811
    """Where claims and outcomes run: SQLAlchemy sessions, or the workers' asyncpg pool (where
    an outcome is one statement outside a transaction, as in `write_outcomes`)."""
    if through == "session":

        @asynccontextmanager
        async def executor():
            async with sessions() as session, session.begin():
                yield session

        yield executor, False
        return
    pool = await job_path_pool(get_settings())
    try:
        yield pool.acquire, True
    finally:
        await pool.close()


@pytest.mark.parametrize("through", ["session", "job path pool"])
async def test_a_chunk_writes_one_usage_record_and_its_turns_per_job_once(
    client,
    tenant,
    sessions,  # noqa: F811
    through,
):
    assistant = await create_assistant(client, tenant)
    jobs = [
        await _admit(
            sessions, tenant.company_id, assistant["id"], f"q{i}", f"chunk-{uuid.uuid4().hex}"
        )
        for i in range(5)
    ]
    ids = [job.id for job in jobs]
    async with _executors(sessions, through) as (executor, last_turns):
        async with executor() as connection:
            claims = await lifecycle.claim_many(connection, ids, LEASE)
        assert len(claims) == 5 and len({c.token for c in claims}) == 1
        assert sorted(c.job.input["userInput"] for c in claims) == [f"q{i}" for i in range(5)]
        assert {c.job.company_id for c in claims} == {tenant.company_id}
        outcomes = [
            (claim, Outcome(status="succeeded", response="ok", input_tokens=3, output_tokens=4))
            for claim in claims
        ]
        async with executor() as connection:
            written = await lifecycle.finish_many(connection, outcomes, only_last_turns=last_turns)
        async with executor() as connection:  # a re-delivered chunk
            again = await lifecycle.finish_many(connection, outcomes, only_last_turns=last_turns)
    assert len(written) == 5 and again == []

    async with sessions() as session:
        usage = (
            await session.execute(
                select(UsageRecord.job_id, func.count())
                .where(UsageRecord.job_id.in_(ids))
                .group_by(UsageRecord.job_id)
            )
        ).all()
        turns = (
            await session.execute(
                select(SessionMessage.job_id, func.count())
                .where(SessionMessage.job_id.in_(ids))
                .group_by(SessionMessage.job_id)
            )
        ).all()
        statuses = set((await session.execute(select(Job.status).where(Job.id.in_(ids)))).scalars())
    assert sorted(usage) == sorted((job_id, 1) for job_id in ids)
    assert sorted(turns) == sorted((job_id, 2) for job_id in ids)  # user and assistant turns
    assert statuses == {"succeeded"}
