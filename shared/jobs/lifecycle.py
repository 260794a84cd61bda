"""Job state transitions that workers (and the reaper) perform.

queued -> running -> succeeded | failed, and queued -> cancelled. A claim sets a fresh
`claim_token`; every later write is conditioned on it, so a task delivered twice, or a worker that
lost its lease, can never write a second outcome.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.catalogue.service import find_model
from shared.db import utcnow
from shared.models import Assistant, Job, PromptVersion, Session, SessionMessage, UsageRecord
from shared.sessions.service import append_turns


@dataclass(frozen=True, slots=True)
class Claim:
    job: Job
    token: str
    system_prompt: str | None
    tools: list[dict[str, Any]]
    history: list[SessionMessage]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a provider call produced, ready to be written."""

    status: str  # succeeded | failed
    response: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    error_code: str | None = None
    error_message: str | None = None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Job.blocked.is_(False),
        or_(Job.status == "queued", and_(Job.status == "running", Job.lease_expires_at < now)),
    )


async def claim_many(session: AsyncSession, job_ids: list[str], lease: timedelta) -> list[Claim]:
    """Take jobs for execution (one statement for all); those gone, finished, blocked or leased
    by another are left out. Every job of one delivery shares its claim token."""
    now = utcnow()
    token = secrets.token_hex(16)
    jobs = (
        (
            await session.execute(
                update(Job)
                .where(Job.id.in_(job_ids), _claimable(now))
                .values(
                    status="running",
                    claim_token=token,
                    deliveries=Job.deliveries + 1,
                    attempts=Job.attempts
                    + 1,  # the first provider attempt; renew() counts the rest
                    started_at=now,
                    lease_expires_at=now + lease,
                )
                .returning(Job)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    if not jobs:
        return []
    versions = {(job.assistant_id, job.prompt_version) for job in jobs}
    prompts = {
        (row.assistant_id, row.version): row.prompt
        for row in await session.execute(
            select(PromptVersion.assistant_id, PromptVersion.version, PromptVersion.prompt).where(
                tuple_(PromptVersion.assistant_id, PromptVersion.version).in_(versions)
            )
        )
    }
    tools = dict(
        (
            await session.execute(
                select(Assistant.id, Assistant.tools).where(
                    Assistant.id.in_({job.assistant_id for job in jobs})
                )
            )
        )
        .tuples()
        .all()
    )
    claims = []
    for job in jobs:
        history: list[SessionMessage] = []
        if job.session_id:
            rows = await session.execute(
                select(SessionMessage)
                .where(SessionMessage.session_id == job.session_id)
                .order_by(SessionMessage.position)
            )
            history = list(rows.scalars())
        claims.append(
            Claim(
                job=job,
                token=token,
                system_prompt=prompts.get((job.assistant_id, job.prompt_version)),
                tools=tools.get(job.assistant_id) or [],
                history=history,
            )
        )
    return claims


async def claim(session: AsyncSession, job_id: str, lease: timedelta) -> Claim | None:
    """Take a job for execution, or None when it is gone, finished, blocked or leased by another."""
    claims = await claim_many(session, [job_id], lease)
    return claims[0] if claims else None


async def renew(
    session: AsyncSession, job_id: str, token: str, lease: timedelta, *, attempt: bool
) -> bool:
    """Extend the lease (and count a provider attempt); False when the claim is no longer ours."""
    values: dict[str, Any] = {"lease_expires_at": utcnow() + lease}
    if attempt:
        values["attempts"] = Job.attempts + 1
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == token, Job.status == "running")
        .values(**values)
        .returning(Job.id)
    )
    return result.scalar_one_or_none() is not None


async def release_next_in_session(session: AsyncSession, session_id: str) -> tuple[str, str] | None:
    """Unblock the session's next waiting job (lowest turn number): (id, kind), to enqueue after commit.

    Takes the session row lock first, the lock an execute call holds while it decides whether its
    new turn must wait: that call either sees this job ended, or committed its waiting job before
    the search below, so a turn can never be left waiting on a job that has already ended.
    """
    await session.execute(select(Session.id).where(Session.id == session_id).with_for_update())
    next_id = (
        select(Job.id)
        .where(Job.session_id == session_id, Job.blocked.is_(True), Job.status == "queued")
        .order_by(Job.session_seq)
        .limit(1)
        .with_for_update()
        .scalar_subquery()
    )
    # An interactive job was admitted under the limits by the API and goes straight to a worker;
    # any other kind goes back to the dispatcher (enqueued_at NULL).
    result = await session.execute(
        update(Job)
        .where(Job.id == next_id)
        .values(
            blocked=False,
            enqueued_at=case((Job.kind == "interactive", utcnow()), else_=None),
        )
        .returning(Job.id, Job.kind)
    )
    row = result.one_or_none()
    return (row.id, row.kind) if row else None


def _turns(job: Job, outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
    user: dict[str, Any] = {"text": job.input.get("userInput")}
    for field in ("attachments", "toolResults"):
        if job.input.get(field):
            user[field] = job.input[field]
    reply: dict[str, Any] = {"text": outcome.response}
    if outcome.tool_calls:
        reply["toolCalls"] = outcome.tool_calls
    return [("user", user), ("assistant", reply)]


@dataclass(frozen=True, slots=True)
class Finished:
    job: Job
    released: tuple[str, str] | None  # the session's next job, to enqueue after commit


async def finish(
    session: AsyncSession, job_id: str, token: str, outcome: Outcome
) -> Finished | None:
    """Write the outcome, its usage record and the session turns in the caller's transaction.

    Returns None (writing nothing) when the claim is no longer ours.
    """
    now = utcnow()
    job = (
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.claim_token == token, Job.status == "running")
            .values(
                status=outcome.status,
                response=outcome.response,
                tool_calls=outcome.tool_calls,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                finished_at=now,
                lease_expires_at=None,
            )
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if job is None:
        return None
    model = find_model(job.provider, job.model)
    cost = model.cost(outcome.input_tokens, outcome.output_tokens) if model else 0.0
    await session.execute(
        insert(UsageRecord)
        .values(
            company_id=job.company_id,
            assistant_id=job.assistant_id,
            job_id=job.id,
            provider=job.provider,
            model=job.model,
            prompt_version=job.prompt_version,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost=Decimal(str(round(cost, 8))),
            latency_ms=outcome.latency_ms,
            outcome=outcome.status
            if outcome.status == "succeeded"
            else (outcome.error_code or "failed"),
        )
        .on_conflict_do_nothing(index_elements=[UsageRecord.job_id])
    )
    if outcome.status == "succeeded" and job.session_id:
        await append_turns(session, job.session_id, job.id, _turns(job, outcome))
    # At most one write a second per assistant: a busy assistant's row must not become a hot lock.
    await session.execute(
        update(Assistant)
        .where(
            Assistant.id == job.assistant_id,
            or_(
                Assistant.last_accessed_at.is_(None),
                Assistant.last_accessed_at < now - timedelta(seconds=1),
            ),
        )
        .values(last_accessed_at=now)
    )
    released = await release_next_in_session(session, job.session_id) if job.session_id else None
    return Finished(job=job, released=released)


async def finish_many(
    session: AsyncSession, outcomes: list[tuple[Claim, Outcome]]
) -> list[tuple[Claim, Outcome, Finished]]:
    """Write a chunk's outcomes in the caller's one transaction; jobs no longer ours are left out."""
    written = []
    for claim_, outcome in outcomes:
        finished = await finish(session, claim_.job.id, claim_.token, outcome)
        if finished is not None:
            written.append((claim_, outcome, finished))
    return written
