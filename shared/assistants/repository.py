"""ORM queries on assistants, scoped to a company and to live (not deleted) rows.

The read endpoints' queries, which return JSON, are in `bodies`.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.ids import is_id
from shared.models import Assistant


def _live(company_id: str) -> list[ColumnElement[bool]]:
    return [Assistant.company_id == company_id, Assistant.deleted_at.is_(None)]


async def get(
    session: AsyncSession, company_id: str, assistant_id: str, *, for_update: bool = False
) -> Assistant | None:
    if not is_id(assistant_id):  # cannot exist; and PostgreSQL rejects some strings (NUL)
        return None
    query = select(Assistant).where(Assistant.id == assistant_id, *_live(company_id))
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()
