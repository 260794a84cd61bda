"""Token usage and cost of the caller's company."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.dependencies import CurrentPrincipal, SessionDep
from api.errors import error_responses
from shared.errors import Unauthorized, ValidationFailed
from shared.usage.repository import aggregate
from shared.usage.schemas import GroupBy, UsageMeta, UsageReport

router = APIRouter(prefix="/api/usage", tags=["usage"])
MAX_RANGE = timedelta(days=366)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("", response_model=UsageReport, responses=error_responses(Unauthorized))
async def usage(
    principal: CurrentPrincipal,
    session: SessionDep,
    from_: Annotated[
        datetime | None,
        Query(alias="from", description="Start (inclusive), ISO 8601; default 30 days ago"),
    ] = None,
    to: Annotated[
        datetime | None, Query(description="End (exclusive), ISO 8601; default now")
    ] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy")] = GroupBy.day,
) -> UsageReport:
    """Requests, tokens and cost per day, assistant or model over a time range (at most 366 days)."""
    end = _utc(to) if to else datetime.now(UTC)
    start = _utc(from_) if from_ else end - timedelta(days=30)
    if start >= end or end - start > MAX_RANGE:
        raise ValidationFailed("'from' must be before 'to', and the range at most 366 days")
    buckets = await aggregate(session, principal.company_id, start, end, group_by)
    return UsageReport(data=buckets, meta=UsageMeta(from_=start, to=end, group_by=group_by))
