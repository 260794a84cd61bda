"""Queries on jobs. API-side reads are scoped to a company; worker-side writes are fenced by claim."""

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import driver_connection
from shared.ids import is_id
from shared.models import Job

OPEN = ("queued", "running")


async def get(
    session: AsyncSession, company_id: str, job_id: str, *, for_update: bool = False
) -> Job | None:
    if not is_id(job_id):
        return None
    query = select(Job).where(Job.id == job_id, Job.company_id == company_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_detached(engine: AsyncEngine, company_id: str, job_id: str) -> Job | None:
    """`get` in one round trip without a session, for a synchronous execute's answer: the Job
    it returns is attached to nothing."""
    if not is_id(job_id):
        return None
    async with driver_connection(engine) as connection:
        row = await connection.fetchrow(
            "SELECT * FROM jobs WHERE id = $1 AND company_id = $2", job_id, company_id
        )
    return None if row is None else Job(**dict(row))


async def list_page(
    session: AsyncSession,
    company_id: str,
    *,
    assistant_id: str | None,
    status: str | None,
    batch_id: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[Job], int]:
    where = [Job.company_id == company_id]
    if assistant_id:
        where.append(Job.assistant_id == assistant_id)
    if status:
        where.append(Job.status == status)
    if batch_id:
        where.append(Job.batch_id == batch_id)
    total = (
        await session.execute(select(func.count()).select_from(Job).where(*where))
    ).scalar_one()
    rows = await session.execute(
        select(Job)
        .where(*where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), total


async def lock_idempotency_key(session: AsyncSession, company_id: str, key: str) -> None:
    """Serialise requests that carry the same key, for the rest of this transaction."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{company_id}:{key}"}
    )


async def by_idempotency_key(session: AsyncSession, company_id: str, key: str) -> Job | None:
    return (
        await session.execute(
            select(Job).where(Job.company_id == company_id, Job.idempotency_key == key)
        )
    ).scalar_one_or_none()


async def session_has_open_job(session: AsyncSession, session_id: str) -> bool:
    query = select(Job.id).where(Job.session_id == session_id, Job.status.in_(OPEN)).limit(1)
    return (await session.execute(query)).first() is not None


async def oldest_queued_age_by_kind(session: AsyncSession) -> dict[str, float]:
    """Seconds the oldest waiting job of each kind has waited, fleet-wide (for monitoring only).

    Jobs blocked behind an earlier turn of their session are left out: they wait for that turn,
    not for a worker. Ages come from the database clock, so API and database clocks may differ.
    """
    age = func.extract("epoch", func.now() - func.min(Job.created_at))
    rows = await session.execute(
        select(Job.kind, age).where(Job.status == "queued", ~Job.blocked).group_by(Job.kind)
    )
    return {kind: max(0.0, float(seconds)) for kind, seconds in rows.all()}
