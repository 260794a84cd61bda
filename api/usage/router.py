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


# ISO 8601 dates or date-times only (a bare number is not a time here).
_ISO: dict = {
    "pattern": r"^\d{4}-\d{2}-\d{2}",
    "max_length": 40,
    "json_schema_extra": {"format": "date-time"},
}


def _parse(name: str, value: str) -> datetime:
    """An ISO 8601 date or date-time; UTC when it carries no offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"'{name}' must be an ISO 8601 date or date-time", details=[{"field": name}]
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("", response_model=UsageReport, responses=error_responses(Unauthorized))
async def usage(
    principal: CurrentPrincipal,
    session: SessionDep,
    from_: Annotated[
        str | None,
        Query(alias="from", description="Start (inclusive), ISO 8601; default 30 days ago", **_ISO),
    ] = None,
    to: Annotated[
        str | None, Query(description="End (exclusive), ISO 8601; default now", **_ISO)
    ] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy")] = GroupBy.day,
) -> UsageReport:
    """Requests, tokens and cost per day, assistant or model over a time range (at most 366 days)."""
    end = _parse("to", to) if to else datetime.now(UTC)
    start = _parse("from", from_) if from_ else end - timedelta(days=30)
    if start >= end or end - start > MAX_RANGE:
        raise ValidationFailed("'from' must be before 'to', and the range at most 366 days")
    buckets = await aggregate(session, principal.company_id, start, end, group_by)
    return UsageReport(data=buckets, meta=UsageMeta(from_=start, to=end, group_by=group_by))
