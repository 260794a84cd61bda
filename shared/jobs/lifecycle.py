"""Job state transitions that workers (and the reaper) perform.

queued -> running -> succeeded | failed, and queued -> cancelled. A claim sets a fresh
`claim_token`; every later write is conditioned on it, so a task delivered twice, or a worker that
lost its lease, can never write a second outcome.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    Text,
    and_,
    case,
    column,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.catalogue.service import find_model
from shared.db import utcnow
from shared.ids import new_id
from shared.models import Assistant, Job, PromptVersion, Session, SessionMessage, UsageRecord
from shared.sessions.service import append_turns_many


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
    histories = await _histories(session, {job.session_id for job in jobs if job.session_id})
    return [
        Claim(
            job=job,
            token=token,
            system_prompt=prompts.get((job.assistant_id, job.prompt_version)),
            tools=tools.get(job.assistant_id) or [],
            history=histories.get(job.session_id, []) if job.session_id else [],
        )
        for job in jobs
    ]


async def _histories(
    session: AsyncSession, session_ids: set[str]
) -> dict[str, list[SessionMessage]]:
    """The messages of several sessions in one query, each session's in turn order."""
    histories: dict[str, list[SessionMessage]] = defaultdict(list)
    if session_ids:
        rows = await session.execute(
            select(SessionMessage)
            .where(SessionMessage.session_id.in_(session_ids))
            .order_by(SessionMessage.session_id, SessionMessage.position)
        )
        for message in rows.scalars():
            histories[message.session_id].append(message)
    return histories


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


async def hand_back(session: AsyncSession, job_ids: list[str], token: str) -> list[str]:
    """Return claimed jobs to the dispatcher before any provider call: their limiter admission
    has lapsed, and only the dispatcher admits. The claim's attempt is taken back (nothing was
    called); the delivery stays counted. Returns the ids handed back (those still ours)."""
    result = await session.execute(
        update(Job)
        .where(Job.id.in_(job_ids), Job.claim_token == token, Job.status == "running")
        .values(
            status="queued",
            claim_token=None,
            lease_expires_at=None,
            enqueued_at=None,
            attempts=Job.attempts - 1,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


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


async def _release_next_in_sessions(
    session: AsyncSession, session_ids: list[str]
) -> dict[str, tuple[str, str]]:
    """`release_next_in_session` for several sessions in one statement; the caller holds their
    row locks. Returns session id -> (job id, kind) of the job it unblocked."""
    sessions = (
        func.unnest(literal(session_ids, ARRAY(String)))
        .table_valued("sid")
        .render_derived(name="s")
    )
    waiting = (
        select(Job.id)
        .where(Job.session_id == sessions.c.sid, Job.blocked.is_(True), Job.status == "queued")
        .order_by(Job.session_seq)
        .limit(1)
        .with_for_update()
        .lateral("next_job")
    )
    next_ids = select(waiting.c.id).select_from(sessions.join(waiting, true()))
    result = await session.execute(
        update(Job)
        .where(Job.id.in_(next_ids))
        .values(blocked=False, enqueued_at=case((Job.kind == "interactive", utcnow()), else_=None))
        .returning(Job.session_id, Job.id, Job.kind)
        .execution_options(synchronize_session=False)
    )
    return {row.session_id: (row.id, row.kind) for row in result}


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
    job: Job  # as it was claimed
    released: tuple[str, str] | None  # the session's next job, to enqueue after commit


async def finish(
    session: AsyncSession, job_id: str, token: str, outcome: Outcome
) -> Finished | None:
    """Write one outcome (see `finish_many`); None, writing nothing, when the claim is not ours."""
    job = await session.get(Job, job_id)
    if job is None:
        return None
    written = await finish_many(
        session, [(Claim(job=job, token=token, system_prompt=None, tools=[], history=[]), outcome)]
    )
    return written[0][2] if written else None


_OUTCOME_ROWS = (
    column("id", String),
    column("token", String),
    column("status", String),
    column("response", Text),
    column("tool_calls", JSONB),
    column("input_tokens", Integer),
    column("output_tokens", Integer),
    column("error_code", String),
    column("error_message", String),
)


async def _write_jobs(session: AsyncSession, outcomes: list[tuple[Claim, Outcome]]) -> set[str]:
    """One UPDATE for every outcome, fenced by each claim's token; the ids it wrote."""
    rows = values(*_OUTCOME_ROWS, name="outcome").data(
        [
            (
                claim_.job.id,
                claim_.token,
                outcome.status,
                outcome.response,
                outcome.tool_calls,
                outcome.input_tokens,
                outcome.output_tokens,
                outcome.error_code,
                outcome.error_message,
            )
            for claim_, outcome in outcomes
        ]
    )
    result = await session.execute(
        update(Job)
        .where(Job.id == rows.c.id, Job.claim_token == rows.c.token, Job.status == "running")
        .values(
            status=rows.c.status,
            response=rows.c.response,
            tool_calls=rows.c.tool_calls,
            input_tokens=rows.c.input_tokens,
            output_tokens=rows.c.output_tokens,
            error_code=rows.c.error_code,
            error_message=rows.c.error_message,
            finished_at=utcnow(),
            lease_expires_at=None,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def _usage(job: Job, outcome: Outcome) -> dict[str, Any]:
    model = find_model(job.provider, job.model)
    cost = model.cost(outcome.input_tokens, outcome.output_tokens) if model else 0.0
    return {
        "id": new_id(),
        "company_id": job.company_id,
        "assistant_id": job.assistant_id,
        "job_id": job.id,
        "provider": job.provider,
        "model": job.model,
        "prompt_version": job.prompt_version,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost": Decimal(str(round(cost, 8))),
        "latency_ms": outcome.latency_ms,
        "outcome": outcome.status
        if outcome.status == "succeeded"
        else (outcome.error_code or "failed"),
    }


async def _touch_assistants(session: AsyncSession, assistant_ids: set[str]) -> None:
    """`lastAccessedAt`, at most one write a second per assistant, and never a wait: a busy
    assistant's row must not become a hot lock (a row locked by another chunk is being touched)."""
    now = utcnow()
    stale = (
        select(Assistant.id)
        .where(
            Assistant.id.in_(assistant_ids),
            or_(
                Assistant.last_accessed_at.is_(None),
                Assistant.last_accessed_at < now - timedelta(seconds=1),
            ),
        )
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(Assistant)
        .where(Assistant.id.in_(stale.scalar_subquery()))
        .values(last_accessed_at=now)
        .execution_options(synchronize_session=False)
    )


async def finish_many(
    session: AsyncSession, outcomes: list[tuple[Claim, Outcome]]
) -> list[tuple[Claim, Outcome, Finished]]:
    """Write outcomes, their usage records and session turns in the caller's one transaction.

    A handful of multi-row statements whatever the number of jobs; a job whose claim is no longer
    ours (its token changed, or it is no longer running) is left out and gets nothing written.
    """
    if not outcomes:
        return []
    ours = await _write_jobs(session, outcomes)
    written = [(claim_, outcome) for claim_, outcome in outcomes if claim_.job.id in ours]
    if not written:
        return []
    await session.execute(
        insert(UsageRecord)
        .values([_usage(claim_.job, outcome) for claim_, outcome in written])
        .on_conflict_do_nothing(index_elements=[UsageRecord.job_id])
    )
    session_ids = sorted({c.job.session_id for c, _ in written if c.job.session_id})
    released: dict[str, tuple[str, str]] = {}
    if session_ids:
        # The session rows' locks, in one order for every writer (no deadlock between chunks):
        # the lock an execute call holds while it decides whether its new turn must wait.
        await session.execute(
            select(Session.id)
            .where(Session.id.in_(session_ids))
            .order_by(Session.id)
            .with_for_update()
        )
        turns = [
            (claim_.job.session_id, claim_.job.id, _turns(claim_.job, outcome))
            for claim_, outcome in written
            if outcome.status == "succeeded" and claim_.job.session_id
        ]
        await append_turns_many(session, turns)
        released = await _release_next_in_sessions(session, session_ids)
    await _touch_assistants(session, {claim_.job.assistant_id for claim_, _ in written})
    return [
        (
            claim_,
            outcome,
            Finished(
                job=claim_.job,
                released=released.pop(claim_.job.session_id, None)
                if claim_.job.session_id
                else None,
            ),
        )
        for claim_, outcome in written
    ]
