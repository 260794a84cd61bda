"""Queries on batches and their jobs, scoped to a company. Items are inserted with COPY."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.ids import is_id
from shared.models import Batch, Job

COPY_COLUMNS = (
    "id",
    "company_id",
    "assistant_id",
    "kind",
    "input",
    "prompt_version",
    "provider",
    "model",
    "max_tokens",
    "batch_id",
    "custom_id",
)


async def copy_jobs(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """Bulk insert of batch items through PostgreSQL's COPY, inside the session's transaction."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # an open connection always has its asyncpg connection
    await driver.copy_records_to_table("jobs", records=records, columns=COPY_COLUMNS)


async def get(
    session: AsyncSession, company_id: str, batch_id: str, *, for_update: bool = False
) -> Batch | None:
    if not is_id(batch_id):
        return None
    query = select(Batch).where(Batch.id == batch_id, Batch.company_id == company_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def counts(session: AsyncSession, batch_ids: list[str]) -> dict[str, dict[str, int]]:
    rows = await session.execute(
        select(Job.batch_id, Job.status, func.count())
        .where(Job.batch_id.in_(batch_ids))
        .group_by(Job.batch_id, Job.status)
    )
    result: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    for batch_id, status, count in rows:
        result[str(batch_id)][status] = count  # never NULL: the rows are the batches' items
    return result


async def list_page(
    session: AsyncSession, company_id: str, offset: int, limit: int
) -> tuple[list[Batch], int]:
    where = Batch.company_id == company_id
    total = (
        await session.execute(select(func.count()).select_from(Batch).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(Batch)
        .where(where)
        .order_by(Batch.created_at.desc(), Batch.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), total


async def cancel_queued(session: AsyncSession, batch_id: str) -> list[tuple[str, bool]]:
    """Cancel the batch's jobs that have not started: (job id, was it already dispatched)."""
    rows = await session.execute(
        update(Job)
        .where(Job.batch_id == batch_id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow())
        .returning(Job.id, Job.enqueued_at.is_not(None))
    )
    return [(job_id, bool(dispatched)) for job_id, dispatched in rows]


async def finished_after(
    session: AsyncSession, batch_id: str, after_id: str, limit: int
) -> list[Job]:
    """Finished items in id order after `after_id` (keyset pagination for the results stream)."""
    rows = await session.execute(
        select(Job)
        .where(
            Job.batch_id == batch_id,
            Job.status.in_(("succeeded", "failed", "cancelled")),
            Job.id > after_id,
        )
        .order_by(Job.id)
        .limit(limit)
    )
    return list(rows.scalars())
