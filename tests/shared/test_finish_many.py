"""A chunk's outcomes are written by a few multi-row statements: exactly once, fenced by claim."""

import uuid

from sqlalchemy import func, select

from shared.jobs import lifecycle
from shared.jobs.lifecycle import Outcome
from shared.models import Job, SessionMessage, UsageRecord
from tests.factories import create_assistant
from tests.shared.test_session_turns import LEASE, _admit, sessions  # noqa: F401


async def test_a_chunk_writes_one_usage_record_and_its_turns_per_job_once(
    client,
    tenant,
    sessions,  # noqa: F811
):
    assistant = await create_assistant(client, tenant)
    jobs = [
        await _admit(
            sessions, tenant.company_id, assistant["id"], f"q{i}", f"chunk-{uuid.uuid4().hex}"
        )
        for i in range(5)
    ]
    ids = [job.id for job in jobs]
    async with sessions() as session, session.begin():
        claims = await lifecycle.claim_many(session, ids, LEASE)
    assert len(claims) == 5 and len({c.token for c in claims}) == 1
    outcomes = [
        (claim, Outcome(status="succeeded", response="ok", input_tokens=3, output_tokens=4))
        for claim in claims
    ]
    async with sessions() as session, session.begin():
        written = await lifecycle.finish_many(session, outcomes)
    async with sessions() as session, session.begin():
        again = await lifecycle.finish_many(session, outcomes)  # a re-delivered chunk
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
