from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.service import issue_key
from shared.errors import NotFound
from shared.models import Company


async def create_company(session: AsyncSession, name: str) -> tuple[Company, str]:
    """A new company and its first API key (the raw key is returned once, never stored)."""
    company = Company(name=name)
    session.add(company)
    await session.flush()
    _, raw = await issue_key(session, company.id)
    return company, raw


async def get_company(session: AsyncSession, company_id: str) -> Company:
    company = await session.get(Company, company_id)
    if company is None:
        raise NotFound(f"No company with id {company_id}")
    return company
