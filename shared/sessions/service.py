"""Conversation sessions: creation on first use, history, ordered turns."""

from typing import Any

from sqlalchemy import Integer, String, column, insert, update, values
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
    await append_turns_many(session, [(session_id, job_id, turns)])


async def append_turns_many(
    session: AsyncSession, jobs: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]]
) -> None:
    """`append_turns` for several jobs, (session id, job id, turns), in two statements whatever
    their number; one session's jobs are appended in the order given. The caller holds the
    sessions' row locks or accepts the UPDATE's."""
    if not jobs:
        return
    added: dict[str, int] = {}
    for session_id, _, turns in jobs:
        added[session_id] = added.get(session_id, 0) + len(turns)
    rows = values(column("id", String), column("n", Integer), name="added").data(
        sorted(added.items())
    )
    result = await session.execute(
        update(Session)
        .where(Session.id == rows.c.id)
        .values(message_count=Session.message_count + rows.c.n, updated_at=utcnow())
        .returning(Session.id, Session.message_count)
        .execution_options(synchronize_session=False)
    )
    position = {session_id: count - added[session_id] for session_id, count in result.tuples()}
    messages = []
    for session_id, job_id, turns in jobs:
        if session_id not in position:  # deleted meanwhile
            continue
        for role, content in turns:
            messages.append(
                {
                    "session_id": session_id,
                    "position": position[session_id],
                    "role": role,
                    "content": content,
                    "job_id": job_id,
                }
            )
            position[session_id] += 1
    if messages:
        await session.execute(insert(SessionMessage).values(messages))
