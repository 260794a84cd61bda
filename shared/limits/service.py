"""Effective limits of a company (its overrides over the plan's defaults) and token estimates."""

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.limits.schemas import Limits
from shared.models import Company, Job

CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_RESERVE = 4_096


def effective(company: Company | Row[Any] | None, settings: Settings) -> Limits:
    """The company's limits (a row with its limit columns will do), its plan's where unset."""
    return Limits(
        rpm=(company and company.rpm_limit) or settings.default_rpm_limit,
        tpm=(company and company.tpm_limit) or settings.default_tpm_limit,
        concurrency=(company and company.concurrency_limit) or settings.default_concurrency_limit,
        max_queued=(company and company.max_queued) or settings.default_max_queued,
    )


async def limits_of(session: AsyncSession, company_id: str, settings: Settings) -> Limits:
    return effective(await session.get(Company, company_id), settings)


def estimate_tokens(input_chars: int, max_tokens: int | None) -> int:
    """What to reserve before a call: the prompt and input's size estimate plus the most it may write."""
    return input_chars // CHARS_PER_TOKEN + 16 + (max_tokens or DEFAULT_OUTPUT_RESERVE)


async def queued_count(session: AsyncSession, company_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Job)
        .where(Job.company_id == company_id, Job.status == "queued")
    )
    return (await session.execute(query)).scalar_one()
