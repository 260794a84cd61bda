"""The caller's limits and what remains of them now."""

from fastapi import APIRouter, Response

from api.dependencies import CurrentPrincipal, SessionDep, StateDep
from api.errors import error_responses
from shared.errors import Unauthorized
from shared.ids import new_id
from shared.limits.errors import rate_headers
from shared.limits.schemas import LimitsOut, LimitUsage
from shared.limits.service import limits_of, queued_count

router = APIRouter(prefix="/api/limits", tags=["limits"])


@router.get("", response_model=LimitsOut, responses=error_responses(Unauthorized))
async def get_limits(
    principal: CurrentPrincipal, session: SessionDep, state: StateDep, response: Response
) -> LimitsOut:
    """Requests and tokens per minute, concurrent and queued jobs: each limit and what remains."""
    limits = await limits_of(session, principal.company_id, state.settings)
    now = await state.limiter.acquire(principal.company_id, limits, new_id(), 0, dry_run=True)
    queued = await queued_count(session, principal.company_id)
    response.headers.update(rate_headers(limits, now))
    return LimitsOut(
        requests_per_minute=LimitUsage(
            limit=limits.rpm, remaining=max(0, limits.rpm - now.requests)
        ),
        tokens_per_minute=LimitUsage(limit=limits.tpm, remaining=max(0, limits.tpm - now.tokens)),
        concurrent_jobs=LimitUsage(
            limit=limits.concurrency, remaining=max(0, limits.concurrency - now.running)
        ),
        queued_jobs=LimitUsage(
            limit=limits.max_queued, remaining=max(0, limits.max_queued - queued)
        ),
        reset_seconds=now.reset,
    )
