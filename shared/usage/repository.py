"""Aggregates of usage records, scoped to a company (deleted assistants included)."""

from datetime import datetime

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from shared.models import UsageRecord
from shared.usage.schemas import GroupBy, UsageBucket


async def aggregate(
    session: AsyncSession, company_id: str, start: datetime, end: datetime, group_by: GroupBy
) -> list[UsageBucket]:
    expressions: dict[GroupBy, ColumnElement[str] | InstrumentedAttribute[str]] = {
        GroupBy.day: func.to_char(
            cast(func.timezone("UTC", UsageRecord.created_at), Date), "YYYY-MM-DD"
        ),
        GroupBy.assistant: UsageRecord.assistant_id,
        GroupBy.model: UsageRecord.provider + "/" + UsageRecord.model,
    }
    key = expressions[group_by].label("key")
    query = (
        select(
            key,
            func.count().label("requests"),
            func.count(case((UsageRecord.outcome == "succeeded", 1))).label("succeeded"),
            func.coalesce(func.sum(UsageRecord.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(UsageRecord.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(UsageRecord.cost), 0).label("cost"),
        )
        .where(
            UsageRecord.company_id == company_id,
            UsageRecord.created_at >= start,
            UsageRecord.created_at < end,
        )
        .group_by(key)
        .order_by(key)
    )
    return [
        UsageBucket(
            key=row.key,
            requests=row.requests,
            succeeded=row.succeeded,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            total_tokens=row.input_tokens + row.output_tokens,
            cost=float(row.cost),
        )
        for row in await session.execute(query)
    ]
