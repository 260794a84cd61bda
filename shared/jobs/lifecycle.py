"""Job state transitions that workers (and the reaper) perform.

queued -> running -> succeeded | failed, and queued -> cancelled. A claim sets a fresh
`claim_token`; every later write is conditioned on it, so a task delivered twice, or a worker that
lost its lease, can never write a second outcome.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeAlias

import asyncpg
import orjson
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared.catalogue.service import find_model
from shared.db import utcnow
from shared.ids import new_id
from shared.jobs import lifecycle_sql
from shared.models import Job, Session, SessionMessage


class ClaimedRecord:
    """An asyncpg record of the claim (the workers' `job_path_pool`) with its columns as
    attributes, as SQLAlchemy's rows have them."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


# The claimed job as the claim statement returned it: a row with the jobs table's columns as
# attributes (`job.id`, `job.input`, ...). Read-only by design, and not an ORM instance: building
# `Job` objects was a twentieth of a worker's event-loop time at a few hundred jobs a second.
# (`finish`, for one job outside the pipeline, passes the ORM object: same attributes.)
ClaimedJob = Row[Any] | ClaimedRecord | Job

# Where a job's statements run: a session or connection of SQLAlchemy's, or asyncpg's own
# connection, which the workers use for the claim and the outcome (`workers.runtime.job_path_pool`).
Executor: TypeAlias = AsyncSession | AsyncConnection | asyncpg.Connection


@dataclass(frozen=True, slots=True)
class Claim:
    job: ClaimedJob
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


async def claim_many(session: Executor, job_ids: list[str], lease: timedelta) -> list[Claim]:
    """Take jobs for execution, with what their calls need, in one statement; those gone,
    finished, blocked or leased by another are left out. Every job of one delivery shares its
    claim token. Workers pass asyncpg's connection: the one statement is the transaction."""
    now = utcnow()
    token = secrets.token_hex(16)
    params = {"ids": job_ids, "token": token, "now": now, "lease_until": now + lease}
    rows: Any
    if isinstance(session, asyncpg.Connection):
        statement = lifecycle_sql.CLAIM_DRIVER
        records = await session.fetch(statement.sql, *statement.args(params))
        rows = [ClaimedRecord(record) for record in records]
    else:
        rows = await session.execute(lifecycle_sql.CLAIM, params)
    return [
        Claim(
            job=row,
            token=token,
            system_prompt=row.claim_system_prompt,
            tools=row.claim_tools or [],
            history=[
                SessionMessage(role=role, content=content)
                for role, content in row.claim_history or []
            ],
        )
        for row in rows
    ]


async def job_exists(connection: asyncpg.Connection, job_id: str) -> bool:
    """Whether the job's row is committed (in any state)."""
    return bool(await connection.fetchval(lifecycle_sql.JOB_EXISTS, job_id))


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
    result = await session.execute(
        lifecycle_sql.RELEASE, {"session_ids": [session_id], "now": utcnow()}
    )
    row = result.one_or_none()
    return (row.id, row.kind) if row else None


def _turns(job: ClaimedJob, outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
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
    job: ClaimedJob
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


def _usage_cost(job: ClaimedJob, outcome: Outcome) -> Decimal:
    model = find_model(job.provider, job.model)
    cost = model.cost(outcome.input_tokens, outcome.output_tokens) if model else 0.0
    return Decimal(str(round(cost, 8)))


def _finish_params(outcomes: list[tuple[Claim, Outcome]]) -> dict[str, Any]:
    """`FINISH`'s parallel arrays, one entry per outcome."""
    params: dict[str, list[Any]] = {
        name: []
        for name in [
            "ids",
            "tokens",
            "statuses",
            "responses",
            "tool_calls",
            "input_tokens",
            "output_tokens",
            "error_codes",
            "error_messages",
            "usage_ids",
            "costs",
            "latencies",
            "usage_outcomes",
            "turns",
        ]
    }
    for claim_, outcome in outcomes:
        job = claim_.job
        succeeded = outcome.status == "succeeded"
        params["ids"].append(job.id)
        params["tokens"].append(claim_.token)
        params["statuses"].append(outcome.status)
        params["responses"].append(outcome.response)
        params["tool_calls"].append(
            None if outcome.tool_calls is None else orjson.dumps(outcome.tool_calls).decode()
        )
        params["input_tokens"].append(outcome.input_tokens)
        params["output_tokens"].append(outcome.output_tokens)
        params["error_codes"].append(outcome.error_code)
        params["error_messages"].append(outcome.error_message)
        params["usage_ids"].append(new_id())
        params["costs"].append(_usage_cost(job, outcome))
        params["latencies"].append(outcome.latency_ms)
        params["usage_outcomes"].append(
            outcome.status if succeeded else (outcome.error_code or "failed")
        )
        params["turns"].append(
            orjson.dumps(_turns(job, outcome)).decode() if succeeded and job.session_id else None
        )
    return params


async def finish_many(
    session: Executor,
    outcomes: list[tuple[Claim, Outcome]],
    *,
    only_last_turns: bool = False,
) -> list[tuple[Claim, Outcome, Finished]]:
    """Write outcomes, their usage records and session turns in the caller's one transaction,
    and release each session's next waiting turn.

    Two statements whatever the number of jobs (`lifecycle_sql`); a job whose claim is no longer
    ours (its token changed, or it is no longer running) is left out and gets nothing written.
    With `only_last_turns`, one statement, which may run on asyncpg's connection outside a
    transaction: it also leaves out jobs whose session has a later turn (see `write_outcomes`).
    """
    if not outcomes:
        return []
    now = utcnow()
    session_ids = sorted({c.job.session_id for c, _ in outcomes if c.job.session_id})
    params = {
        **_finish_params(outcomes),
        "session_ids": session_ids,
        "only_last_turns": only_last_turns,
        "now": now,
    }
    rows: Any
    if isinstance(session, asyncpg.Connection):
        statement = lifecycle_sql.FINISH_DRIVER
        rows = await session.fetch(statement.sql, *statement.args(params))
    else:
        rows = await session.execute(lifecycle_sql.FINISH, params)
    ours = {job_id: session_id for job_id, session_id in rows}
    written = [(claim_, outcome) for claim_, outcome in outcomes if claim_.job.id in ours]
    released: dict[str, tuple[str, str]] = {}
    finished_sessions = sorted({sid for sid in ours.values() if sid})
    if finished_sessions and not only_last_turns:
        if isinstance(session, asyncpg.Connection):
            raise TypeError("releasing the next turns needs a transaction of SQLAlchemy's")
        result = await session.execute(
            lifecycle_sql.RELEASE, {"session_ids": finished_sessions, "now": now}
        )
        released = {sid: (job_id, kind) for sid, job_id, kind in result}
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


async def write_outcomes(
    job_pool: asyncpg.Pool, engine: AsyncEngine, outcomes: list[tuple[Claim, Outcome]]
) -> list[tuple[Claim, Outcome, Finished]]:
    """Write outcomes (see `finish_many`) in as few round trips as their sessions allow.

    First one statement without BEGIN and COMMIT, on a connection of `job_pool`, for every job
    that no later turn waits on: every batch item and nearly every interactive job. Jobs of
    sessions with a later turn (and any whose claim was lost, which will get nothing written)
    then go through FINISH and RELEASE in one transaction on `engine`, which starts the turn
    that waited.
    """
    async with job_pool.acquire() as connection:
        written = await finish_many(connection, outcomes, only_last_turns=True)
    ours = {claim_.job.id for claim_, _, _ in written}
    rest = [(c, o) for c, o in outcomes if c.job.id not in ours and c.job.session_id]
    if rest:
        async with engine.begin() as connection:
            written += await finish_many(connection, rest)
    return written
