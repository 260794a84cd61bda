from sqlalchemy.ext.asyncio import AsyncSession

from shared.companies.service import get_company
from shared.models import Company


async def set_limits(
    session: AsyncSession,
    company_id: str,
    *,
    rpm: int | None,
    tpm: int | None,
    concurrency: int | None,
    max_queued: int | None,
) -> Company:
    """Override the plan's limits for one company; a value of 0 returns that limit to the plan."""
    company = await get_company(session, company_id)
    for column, value in (
        ("rpm_limit", rpm),
        ("tpm_limit", tpm),
        ("concurrency_limit", concurrency),
        ("max_queued", max_queued),
    ):
        if value is not None:
            setattr(company, column, value or None)
    await session.flush()
    return company
