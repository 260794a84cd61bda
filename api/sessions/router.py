"""The Sessions API: conversations and their messages."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.dependencies import CurrentPrincipal, SessionDep
from api.errors import error_responses
from shared.errors import Unauthorized
from shared.schemas import PageMeta
from shared.sessions import repository, service
from shared.sessions.errors import SessionNotFound
from shared.sessions.schemas import (
    SessionDeleted,
    SessionDetail,
    SessionList,
    SessionMessageOut,
    SessionSummary,
)

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
_FOUND = error_responses(Unauthorized, SessionNotFound)


@router.get("", response_model=SessionList, responses=error_responses(Unauthorized))
async def list_sessions(
    principal: CurrentPrincipal,
    session: SessionDep,
    assistant_id: Annotated[str | None, Query(alias="assistantId", max_length=24)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SessionList:
    """The company's sessions, newest first, optionally for one assistant."""
    rows, total = await repository.list_page(
        session, principal.company_id, assistant_id, (page - 1) * limit, limit
    )
    return SessionList(
        data=[SessionSummary.model_validate(row) for row in rows],
        meta=PageMeta(page=page, limit=limit, total=total),
    )


@router.get("/{session_id}", response_model=SessionDetail, responses=_FOUND)
async def get_session(
    session_id: str, principal: CurrentPrincipal, session: SessionDep
) -> SessionDetail:
    """A session with its messages in order."""
    row = await service.get(session, principal.company_id, session_id)
    messages = await repository.messages(session, row.id)
    return SessionDetail(
        **SessionSummary.model_validate(row).model_dump(),
        messages=[SessionMessageOut.model_validate(m) for m in messages],
    )


@router.delete("/{session_id}", response_model=SessionDeleted, responses=_FOUND)
async def delete_session(
    session_id: str, principal: CurrentPrincipal, session: SessionDep
) -> SessionDeleted:
    """Delete a session and its messages. Its jobs and usage stay on record."""
    row = await service.get(session, principal.company_id, session_id)
    await repository.delete_session(session, row.id)
    return SessionDeleted()
