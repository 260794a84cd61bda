"""The dispatcher: hands accepted asynchronous and batch jobs to workers as limits allow.

Such jobs wait in PostgreSQL (status `queued`, `enqueued_at` NULL), not in the broker and not in a
worker: a job over its company's limit costs nothing while it waits. Each round visits the
companies that have waiting jobs in a random rotation and takes a quantum (one chunk) from each
in turn, so a company with 50,000 waiting items gets the same share of the fleet as one with five.
The round stops at the fleet-wide in-flight cap, which keeps worker slots free for interactive
requests (those skip the dispatcher: the API admits them under the limits itself).

A company's quantum costs three round trips whatever its size: one locking SELECT, one limiter
call admitting a prefix of it, one UPDATE marking what was admitted as dispatched.
"""

import random
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import utcnow
from shared.limits.limiter import Limiter
from shared.limits.service import effective, estimate_tokens
from shared.models import Assistant, Company, Job

# `NOT blocked`, as in the partial index ix_jobs_pending: the planner can't prove that `blocked IS
# false` implies it, and without the index each round read the company's whole job history.
PENDING = (Job.status == "queued", Job.enqueued_at.is_(None), ~Job.blocked)

# The companies with waiting jobs, by skipping through the pending index one company at a time
# (a loose index scan): its cost grows with the number of companies, not of waiting jobs.
WAITING_COMPANIES = text(
    """
    WITH RECURSIVE waiting(company_id) AS (
        (SELECT company_id FROM jobs
          WHERE status = 'queued' AND enqueued_at IS NULL AND NOT blocked
          ORDER BY company_id LIMIT 1)
        UNION ALL
        SELECT (SELECT j.company_id FROM jobs j
                 WHERE j.status = 'queued' AND j.enqueued_at IS NULL AND NOT j.blocked
                   AND j.company_id > waiting.company_id
                 ORDER BY j.company_id LIMIT 1)
          FROM waiting WHERE waiting.company_id IS NOT NULL
    )
    SELECT company_id FROM waiting WHERE company_id IS NOT NULL
    """
)


@dataclass
class Round:
    granted: list[tuple[str, str]] = field(default_factory=list)  # (job id, kind)
    # The same jobs as the workers receive them: (kind, job ids), one company's to a chunk.
    chunks: list[tuple[str, list[str]]] = field(default_factory=list)
    waiting_companies: int = 0


async def in_flight(session: AsyncSession) -> int:
    query = select(func.count()).where(
        Job.kind != "interactive",
        Job.status.in_(("queued", "running")),
        Job.enqueued_at.is_not(None),
    )
    return (await session.execute(query)).scalar_one()


async def _next_jobs(
    session: AsyncSession, company_id: str, take: int
) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(
            Job.id,
            Job.kind,
            Job.max_tokens,
            func.length(Job.input["userInput"].astext),
            func.length(Assistant.llm_prompt),
        )
        .join(Assistant, Assistant.id == Job.assistant_id)
        .where(Job.company_id == company_id, *PENDING)
        .order_by(Job.created_at)
        .limit(take)
        .with_for_update(of=Job, skip_locked=True)
    )
    return [
        (job_id, kind, estimate_tokens((prompt_len or 0) + (input_len or 0), max_tokens))
        for job_id, kind, max_tokens, input_len, prompt_len in rows
    ]


def _chunks(granted: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    by_kind: dict[str, list[str]] = {}
    for job_id, kind in granted:
        by_kind.setdefault(kind, []).append(job_id)
    return list(by_kind.items())


async def dispatch_round(session: AsyncSession, limiter: Limiter, settings: Settings) -> Round:
    """One fair pass; the caller commits, then sends the granted jobs."""
    result = Round()
    headroom = settings.dispatch_max_in_flight - await in_flight(session)
    companies = list((await session.execute(WAITING_COMPANIES)).scalars())
    result.waiting_companies = len(companies)
    if headroom <= 0 or not companies:
        return result
    random.shuffle(companies)
    rows = await session.execute(select(Company).where(Company.id.in_(companies)))
    limits = {company.id: effective(company, settings) for company in rows.scalars()}
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
                    update(Job)
                    .where(Job.id.in_([job_id for job_id, _ in granted]))
                    .values(enqueued_at=utcnow())
                    .execution_options(synchronize_session=False)
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
