"""Conversation sessions: creation on first use, history, ordered turns."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.ids import new_id
from shared.models import Session, SessionMessage
from shared.sessions import repository
from shared.sessions.errors import SessionConflict, SessionNotFound


async def open_for_turn(
    session: AsyncSession, company_id: str, assistant_id: str, session_id: str | None
) -> tuple[Session, int]:
    """Lock (or create) the session and take the next turn number for a new job.

    The row lock orders concurrent execute calls on one session: turn numbers follow arrival.
    """
    row = await repository.lock_or_create(session, session_id or new_id(), company_id, assistant_id)
    if row.company_id != company_id or row.assistant_id != assistant_id:
        raise SessionConflict()
    seq = row.next_seq
    row.next_seq = seq + 1
    row.updated_at = utcnow()
    return row, seq


async def get(session: AsyncSession, company_id: str, session_id: str) -> Session:
    row = await repository.get(session, company_id, session_id)
    if row is None:
        raise SessionNotFound()
    return row


async def append_turns(
    session: AsyncSession, session_id: str, job_id: str, turns: list[tuple[str, dict[str, Any]]]
) -> None:
    """Append a job's user and assistant turns; a deleted session silently takes nothing."""
    result = await session.execute(
        update(Session)
        .where(Session.id == session_id)
        .values(message_count=Session.message_count + len(turns), updated_at=utcnow())
        .returning(Session.message_count)
    )
    count = result.scalar_one_or_none()
    if count is None:
        return
    start = count - len(turns)
    session.add_all(
        SessionMessage(
            session_id=session_id, position=start + i, role=role, content=content, job_id=job_id
        )
        for i, (role, content) in enumerate(turns)
    )
