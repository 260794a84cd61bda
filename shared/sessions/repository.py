"""Queries on sessions and their messages, scoped to a company."""

import re

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Session, SessionMessage

SESSION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


async def get(session: AsyncSession, company_id: str, session_id: str) -> Session | None:
    if not SESSION_ID.match(session_id):
        return None
    return (
        await session.execute(
            select(Session).where(Session.id == session_id, Session.company_id == company_id)
        )
    ).scalar_one_or_none()


async def lock_or_create(
    session: AsyncSession, session_id: str, company_id: str, assistant_id: str
) -> Session:
    """The session row, locked for this transaction; created when the id is new."""
    await session.execute(
        insert(Session)
        .values(id=session_id, company_id=company_id, assistant_id=assistant_id)
        .on_conflict_do_nothing(index_elements=[Session.id])
    )
    return (
        await session.execute(select(Session).where(Session.id == session_id).with_for_update())
    ).scalar_one()


async def list_page(
    session: AsyncSession, company_id: str, assistant_id: str | None, offset: int, limit: int
) -> tuple[list[Session], int]:
    where = [Session.company_id == company_id]
    if assistant_id:
        where.append(Session.assistant_id == assistant_id)
    total = (
        await session.execute(select(func.count()).select_from(Session).where(*where))
    ).scalar_one()
    rows = await session.execute(
        select(Session)
        .where(*where)
        .order_by(Session.created_at.desc(), Session.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), total


async def messages(session: AsyncSession, session_id: str) -> list[SessionMessage]:
    rows = await session.execute(
        select(SessionMessage)
        .where(SessionMessage.session_id == session_id)
        .order_by(SessionMessage.position)
    )
    return list(rows.scalars())


async def delete_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(Session).where(Session.id == session_id))
