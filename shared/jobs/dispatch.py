"""The dispatcher: hands accepted asynchronous and batch jobs to workers as limits allow.

Such jobs wait in PostgreSQL (status `queued`, `enqueued_at` NULL), not in the broker and not in a
worker: a job over its company's limit costs nothing while it waits. Each round visits the
companies that have waiting jobs in a random rotation and takes a small quantum from each in
turn, so a company with 50,000 waiting items gets the same share of the fleet as one with five.
The round stops at the fleet-wide in-flight cap, which keeps worker slots free for interactive
requests (those skip the dispatcher: the API admits them under the limits itself).
"""

import random
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import utcnow
from shared.limits.limiter import Limiter
from shared.limits.service import effective, estimate_tokens
from shared.models import Assistant, Company, Job

PENDING = (Job.status == "queued", Job.enqueued_at.is_(None), Job.blocked.is_(False))
QUANTUM = 10


@dataclass
class Round:
    granted: list[tuple[str, str]] = field(default_factory=list)  # (job id, kind)
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


async def dispatch_round(session: AsyncSession, limiter: Limiter, settings: Settings) -> Round:
    """One fair pass; the caller commits, then sends the granted jobs."""
    result = Round()
    headroom = settings.dispatch_max_in_flight - await in_flight(session)
    companies = list(
        (await session.execute(select(Job.company_id).where(*PENDING).distinct())).scalars()
    )
    result.waiting_companies = len(companies)
    if headroom <= 0 or not companies:
        return result
    random.shuffle(companies)
    rows = await session.execute(select(Company).where(Company.id.in_(companies)))
    limits = {company.id: effective(company, settings) for company in rows.scalars()}
    active = companies
    while headroom > 0 and active:
        still_active = []
        for company_id in active:
            take = min(QUANTUM, headroom)
            granted: list[tuple[str, str]] = []
            for job_id, kind, tokens in await _next_jobs(session, company_id, take):
                decision = await limiter.acquire(company_id, limits[company_id], job_id, tokens)
                if not decision.allowed:
                    break
                granted.append((job_id, kind))
            if granted:  # no longer pending: the next pass of this round must not take them again
                await session.execute(
                    update(Job)
                    .where(Job.id.in_([job_id for job_id, _ in granted]))
                    .values(enqueued_at=utcnow())
                )
            result.granted.extend(granted)
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
