"""Conversation sessions: creation on first use, history, ordered turns.

A job's turns are appended with its outcome (shared/jobs/lifecycle_sql.py, `FINISH`)."""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.ids import new_id
from shared.models import Session
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
