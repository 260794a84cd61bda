"""Turn order in a session under racing transactions: a waiting turn is always released.

An execute call on a session decides, under the session's row lock, whether its job must wait
for an earlier one. A job that ends at that very moment must still release it; these tests hold
the execute call's transaction open while the earlier job ends, then let it commit.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import get_settings
from shared.db import create_engine, create_sessionmaker, utcnow
from shared.jobs import lifecycle, service
from shared.jobs.lifecycle import Outcome
from shared.jobs.schemas import ExecuteRequest
from shared.models import Job, Session
from tests.factories import create_assistant
from workers.runtime import job_path_pool

LEASE = timedelta(seconds=30)


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(get_settings(), pool_size=3)
    yield create_sessionmaker(engine)
    await engine.dispose()


def body(text: str, session_id: str) -> ExecuteRequest:
    return ExecuteRequest.model_validate({"userInput": text, "sessionId": session_id})


async def _admit(
    sessions: async_sessionmaker[AsyncSession],
    company_id: str,
    assistant_id: str,
    text: str,
    sid: str,
) -> Job:
    """An asynchronous job, admitted and (unless it waits for its turn) marked handed out, as the
    dispatcher marks the jobs a worker claims. Left waiting for the dispatcher, it could be taken
    first by the session's real beat and worker, which the pipeline tests start and which run on
    through the tests that follow them."""
    async with sessions() as session, session.begin():
        admission = await service.admit(
            session, company_id, assistant_id, body(text, sid), kind="async"
        )
        if not admission.job.blocked:
            admission.job.enqueued_at = utcnow()
    return admission.job


async def _claimed_head(
    sessions: async_sessionmaker[AsyncSession], company_id: str, assistant_id: str, sid: str
) -> tuple[Job, lifecycle.Claim]:
    """A session's first job, admitted and claimed as a worker would."""
    head = await _admit(sessions, company_id, assistant_id, "head", sid)
    async with sessions() as session, session.begin():
        claim = await lifecycle.claim(session, head.id, LEASE)
    assert claim is not None
    return head, claim


async def _race(
    sessions: async_sessionmaker[AsyncSession],
    company_id: str,
    assistant_id: str,
    sid: str,
    end_head: Callable[[AsyncSession], Awaitable[tuple[str, str] | None]],
) -> tuple[Job, tuple[str, str] | None]:
    """Admit a second turn, and end the head job while that admission is still uncommitted."""
    async with sessions() as admitting:
        await admitting.begin()
        second = (
            await service.admit(
                admitting, company_id, assistant_id, body("second", sid), kind="async"
            )
        ).job
        assert second.blocked  # the head was still open when the turn was admitted

        async def end() -> tuple[str, str] | None:
            async with sessions() as session, session.begin():
                return await end_head(session)

        ending = asyncio.create_task(end())
        await asyncio.sleep(0.3)  # the head's transaction gets as far as it can
        await admitting.commit()
    released = await asyncio.wait_for(ending, timeout=10)
    async with sessions() as session, session.begin():
        row = await session.get(Job, second.id)
        assert row is not None
        await session.refresh(row)
        # No worker runs here: leave no waiting job behind for later tests' dispatcher rounds.
        await service.cancel(session, company_id, second.id)
    return row, released


async def test_a_failing_head_releases_a_turn_admitted_while_it_ended(client, tenant, sessions):
    assistant = await create_assistant(client, tenant)
    sid = f"race-{uuid.uuid4().hex}"
    head, claim = await _claimed_head(sessions, tenant.company_id, assistant["id"], sid)

    async def fail(session: AsyncSession) -> tuple[str, str] | None:
        outcome = Outcome(status="failed", error_code="PROVIDER_ERROR", error_message="boom")
        finished = await lifecycle.finish(session, head.id, claim.token, outcome)
        assert finished is not None
        return finished.released

    second, released = await _race(sessions, tenant.company_id, assistant["id"], sid, fail)

    assert released == (second.id, "async")
    assert not second.blocked


async def test_a_cancelled_head_releases_a_turn_admitted_while_it_was_cancelled(
    client, tenant, sessions
):
    assistant = await create_assistant(client, tenant)
    sid = f"race-{uuid.uuid4().hex}"
    head = await _admit(sessions, tenant.company_id, assistant["id"], "head", sid)

    async def cancel(session: AsyncSession) -> tuple[str, str] | None:
        _, released = await service.cancel(session, tenant.company_id, head.id)
        return released

    second, released = await _race(sessions, tenant.company_id, assistant["id"], sid, cancel)

    assert released == (second.id, "async")
    assert not second.blocked


async def test_an_outcome_waiting_for_a_session_does_not_deadlock_the_admission_holding_it(
    client, tenant, sessions
):
    """The admission locks the session first and inserts its job later; the outcome, meanwhile,
    touches the assistant (lastAccessedAt) and then waits for the session. The job's foreign key
    needs a key-share lock on that assistant row: the touch must not block it."""
    assistant = await create_assistant(client, tenant)  # never touched: the outcome will touch it
    sid = f"deadlock-{uuid.uuid4().hex}"
    head, claim = await _claimed_head(sessions, tenant.company_id, assistant["id"], sid)

    async def finish() -> lifecycle.Finished | None:
        async with sessions() as session, session.begin():
            outcome = Outcome(status="succeeded", response="ok", input_tokens=1, output_tokens=1)
            return await lifecycle.finish(session, head.id, claim.token, outcome)

    async with sessions() as admitting:
        await admitting.begin()
        await admitting.execute(select(Session.id).where(Session.id == sid).with_for_update())
        ending = asyncio.create_task(finish())
        await asyncio.sleep(0.5)  # the outcome touches the assistant, then waits for the session
        second = (
            await service.admit(
                admitting, tenant.company_id, assistant["id"], body("second", sid), kind="async"
            )
        ).job
        await admitting.commit()
    finished = await asyncio.wait_for(ending, timeout=10)

    assert finished is not None and finished.released == (second.id, "async")
    async with sessions() as session, session.begin():  # leave no waiting job for later rounds
        await service.cancel(session, tenant.company_id, second.id)


async def _write_head_outcome(
    sessions: async_sessionmaker[AsyncSession], claim: lifecycle.Claim
) -> lifecycle.Finished:
    outcome = Outcome(status="succeeded", response="ok", input_tokens=1, output_tokens=1)
    pool = await job_path_pool(get_settings())
    try:
        written = await lifecycle.write_outcomes(pool, sessions.kw["bind"], [(claim, outcome)])
    finally:
        await pool.close()
    [(_, _, finished)] = written
    return finished


@pytest.mark.parametrize("admitted", ["before", "while the outcome waits for the session"])
async def test_an_outcome_written_in_one_statement_still_releases_a_later_turn(
    client, tenant, sessions, admitted
):
    """The workers' one-statement outcome write leaves out a job whose session has a later
    turn, also one committed while the statement waited for the session's lock (it reads
    next_seq through the lock); the transaction that follows writes it and starts that turn."""
    assistant = await create_assistant(client, tenant)
    sid = f"one-statement-{uuid.uuid4().hex}"
    head, claim = await _claimed_head(sessions, tenant.company_id, assistant["id"], sid)

    if admitted == "before":
        second = await _admit(sessions, tenant.company_id, assistant["id"], "second", sid)
        finished = await _write_head_outcome(sessions, claim)
    else:
        async with sessions() as admitting:
            await admitting.begin()
            second = (
                await service.admit(
                    admitting, tenant.company_id, assistant["id"], body("second", sid), kind="async"
                )
            ).job
            ending = asyncio.create_task(_write_head_outcome(sessions, claim))
            await asyncio.sleep(0.3)
            assert not ending.done()  # the write waits for the session's lock
            await admitting.commit()
        finished = await asyncio.wait_for(ending, timeout=10)

    assert second.blocked
    assert finished.released == (second.id, "async")
    async with sessions() as session, session.begin():
        row = await session.get(Job, second.id)
        assert row is not None and not row.blocked
        head_row = await session.get(Job, head.id)
        assert head_row is not None and head_row.status == "succeeded"
        await service.cancel(session, tenant.company_id, second.id)  # no worker runs here


async def test_an_outcome_with_no_later_turn_is_written_alone(client, tenant, sessions):
    assistant = await create_assistant(client, tenant)
    sid = f"alone-{uuid.uuid4().hex}"
    head, claim = await _claimed_head(sessions, tenant.company_id, assistant["id"], sid)

    finished = await _write_head_outcome(sessions, claim)

    assert finished.released is None
    async with sessions() as session:
        conversation = await session.get(Session, sid)
        assert conversation is not None and conversation.message_count == 2
        assert (await session.get(Job, head.id)).status == "succeeded"
