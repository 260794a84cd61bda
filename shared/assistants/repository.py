"""Every query on assistants; each one is scoped to a company and to live (not deleted) rows."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from shared.assistants.schemas import SortBy, SortOrder
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


def _order_by(sort_by: SortBy, order: SortOrder) -> list[UnaryExpression[Any]]:
    column = {
        SortBy.created_at: Assistant.created_at,
        SortBy.name: Assistant.name,
        SortBy.last_used: Assistant.last_accessed_at,
    }[sort_by]
    if order is SortOrder.asc:
        primary, tie = column.asc(), Assistant.id.asc()
    else:
        primary, tie = column.desc(), Assistant.id.desc()
    if sort_by is SortBy.last_used:
        primary = primary.nulls_last()  # never-used assistants come last either way
    return [primary, tie]


async def list_page(
    session: AsyncSession,
    company_id: str,
    *,
    team_id: str | None,
    sort_by: SortBy,
    order: SortOrder,
    offset: int,
    limit: int,
) -> tuple[list[Assistant], int]:
    where = _live(company_id)
    if team_id is not None:
        where.append(Assistant.team_ids.contains([team_id]))
    total = (await session.execute(select(func.count()).where(*where))).scalar_one()
    # Deferred join: walk the sort index for the page's ids only (an index-only scan, however
    # deep the page), then fetch those rows. Fetching whole rows while skipping the offset made
    # deep pages of large companies cost ~100 ms.
    ordering = _order_by(sort_by, order)
    page_ids = select(Assistant.id).where(*where).order_by(*ordering).offset(offset).limit(limit)
    rows = await session.execute(
        select(Assistant).where(Assistant.id.in_(page_ids.scalar_subquery())).order_by(*ordering)
    )
    return list(rows.scalars()), total
