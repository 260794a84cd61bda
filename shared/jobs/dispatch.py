"""The dispatcher: hands accepted asynchronous and batch jobs to workers as limits allow.

Such jobs wait in PostgreSQL (status `queued`, `enqueued_at` NULL), not in the broker and not in a
worker: a job over its company's limit costs nothing while it waits. Each round visits the
companies that have waiting jobs in a random rotation and takes a quantum (one chunk) from each
in turn, so a company with 50,000 waiting items gets the same share of the fleet as one with five.
The round stops at the fleet-wide in-flight cap, which keeps worker slots free for interactive
requests (those skip the dispatcher: the API admits them under the limits itself).

A round starts with one statement (the jobs in flight, the waiting companies and their limits);
a company's quantum then costs three round trips whatever its size: one locking SELECT, one
limiter call admitting a prefix of it, one UPDATE marking what was admitted as dispatched.
"""

import random
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import utcnow
from shared.jobs import dispatch_sql
from shared.limits.limiter import Limiter
from shared.limits.service import effective, estimate_tokens
from shared.models import Job

# `NOT blocked`, as in the partial index ix_jobs_pending: the planner can't prove that `blocked IS
# false` implies it, and without the index each round read the company's whole job history.
# (The dispatcher's own statements are SQL text: `dispatch_sql`.)
PENDING = (Job.status == "queued", Job.enqueued_at.is_(None), ~Job.blocked)


@dataclass
class Round:
    granted: list[tuple[str, str]] = field(default_factory=list)  # (job id, kind)
    # The same jobs as the workers receive them: (kind, job ids), one company's to a chunk.
    chunks: list[tuple[str, list[str]]] = field(default_factory=list)
    waiting_companies: int = 0


async def in_flight(session: AsyncSession) -> int:
    return (await session.execute(dispatch_sql.IN_FLIGHT)).scalar_one()


async def _next_jobs(
    session: AsyncSession, company_id: str, take: int
) -> list[tuple[str, str, int]]:
    rows = await session.execute(dispatch_sql.NEXT_JOBS, {"company_id": company_id, "take": take})
    return [
        (
            row.id,
            row.kind,
            estimate_tokens((row.prompt_chars or 0) + (row.input_chars or 0), row.max_tokens),
        )
        for row in rows
    ]


def _chunks(granted: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    by_kind: dict[str, list[str]] = {}
    for job_id, kind in granted:
        by_kind.setdefault(kind, []).append(job_id)
    return list(by_kind.items())


async def dispatch_round(session: AsyncSession, limiter: Limiter, settings: Settings) -> Round:
    """One fair pass; the caller commits, then sends the granted jobs."""
    result = Round()
    await session.execute(dispatch_sql.ORDERED_SCANS)
    rows = (await session.execute(dispatch_sql.START)).all()
    result.waiting_companies = len(rows)
    headroom = settings.dispatch_max_in_flight - (rows[0].in_flight if rows else 0)
    if headroom <= 0 or not rows:
        return result
    limits = {row.company_id: effective(row, settings) for row in rows}
    companies = list(limits)
    random.shuffle(companies)
    quantum = max(1, settings.dispatch_chunk_size)
    active = companies
    while headroom > 0 and active:
        still_active = []
        for company_id in active:
            take = min(quantum, headroom)
            candidates = await _next_jobs(session, company_id, take)
            admitted = await limiter.acquire_many(
                company_id,
                limits[company_id],
                [(job_id, tokens) for job_id, _, tokens in candidates],
            )
            granted = [(job_id, kind) for job_id, kind, _ in candidates[:admitted]]
            if granted:  # no longer pending: the next pass of this round must not take them again
                await session.execute(
                    dispatch_sql.MARK_DISPATCHED,
                    {"ids": [job_id for job_id, _ in granted], "now": utcnow()},
                )
                result.granted.extend(granted)
                result.chunks.extend(_chunks(granted))
            headroom -= len(granted)
            if len(granted) == take:
                still_active.append(company_id)
            if headroom <= 0:
                break
        active = still_active
    return result


async def claim_dispatch_trigger(redis: Redis, settings: Settings) -> bool:
    """True for at most one caller per 200 ms: many triggers make one dispatch task, not thousands."""
    return bool(await redis.set(settings.key("dispatch", "requested"), 1, nx=True, px=200))


def lock_key(settings: Settings) -> str:
    """Held by the one running dispatcher of the fleet."""
    return settings.key("dispatch", "lock")


def wake_key(settings: Settings) -> str:
    """A list of at most one element: pushed when work or capacity appears, popped by the
    running dispatcher, which blocks on it between rounds."""
    return settings.key("dispatch", "wake")


async def wake_dispatcher(redis: Redis, settings: Settings) -> bool:
    """Ask the running dispatcher for a round now (one round trip). True when no dispatcher runs
    and this caller should send a dispatch task (at most one caller per 200 ms)."""
    key = wake_key(settings)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(key, 1)
        pipe.ltrim(key, 0, 0)
        pipe.expire(key, 60)
        pipe.exists(lock_key(settings))
        *_, running = await pipe.execute()
    return not running and await claim_dispatch_trigger(redis, settings)
