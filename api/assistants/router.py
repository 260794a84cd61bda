"""Assistants CRUD, to the letter of the spec."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.assistants.dependencies import ReadPool
from api.dependencies import CurrentPrincipal, SessionDep
from api.errors import error_responses
from shared.assistants import service
from shared.assistants.errors import AssistantNotFound, InvalidModel, InvalidProvider
from shared.assistants.schemas import (
    Assistant,
    AssistantCreate,
    AssistantList,
    AssistantUpdate,
    Deleted,
    SortBy,
    SortOrder,
    TeamId,
)
from shared.errors import Unauthorized

router = APIRouter(prefix="/api/assistants", tags=["assistants"])

_AUTH = error_responses(Unauthorized)
_FOUND = error_responses(Unauthorized, AssistantNotFound)
_MODEL = error_responses(Unauthorized, InvalidProvider, InvalidModel)
_UPDATE = error_responses(Unauthorized, AssistantNotFound, InvalidProvider, InvalidModel)


@router.get("", response_model=AssistantList, responses=_AUTH)
async def list_assistants(
    principal: CurrentPrincipal,
    pool: ReadPool,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    team_id: Annotated[TeamId | None, Query(alias="teamId")] = None,
    sort_by: Annotated[SortBy, Query(alias="sortBy")] = SortBy.created_at,
    order: Annotated[SortOrder | None, Query()] = None,
) -> Response:
    """All assistants of the caller's company, newest first unless `sortBy`/`order` say otherwise.

    `sortBy=lastUsed` orders by `lastAccessedAt` with never-used assistants last.
    """
    body = await service.list_body(
        pool,
        principal.company_id,
        team_id=team_id,
        sort_by=sort_by,
        order=order,
        page=page,
        limit=limit,
    )
    return Response(body, media_type="application/json")


@router.get("/{assistant_id}", response_model=Assistant, responses=_FOUND)
async def get_assistant(assistant_id: str, principal: CurrentPrincipal, pool: ReadPool) -> Response:
    """One assistant with its prompt, voice and owning company."""
    body = await service.get_body(pool, principal.company_id, assistant_id)
    return Response(body, media_type="application/json")


@router.post("", response_model=Assistant, status_code=201, responses=_MODEL)
async def create_assistant(
    body: AssistantCreate, principal: CurrentPrincipal, session: SessionDep
) -> Assistant:
    """Create an assistant; its prompt becomes version 1 of the prompt history."""
    assistant = await service.create(session, principal.company_id, principal.key_id, body)
    return Assistant.model_validate(assistant)


@router.put("/{assistant_id}", response_model=Assistant, responses=_UPDATE)
async def update_assistant(
    assistant_id: str, body: AssistantUpdate, principal: CurrentPrincipal, session: SessionDep
) -> Assistant:
    """Change only the fields sent. A new `llmPrompt` records the next prompt version."""
    assistant = await service.update(
        session, principal.company_id, principal.key_id, assistant_id, body
    )
    return Assistant.model_validate(assistant)


@router.delete("/{assistant_id}", response_model=Deleted, responses=_FOUND)
async def delete_assistant(
    assistant_id: str, principal: CurrentPrincipal, session: SessionDep
) -> Deleted:
    """Delete an assistant. Its jobs, sessions and usage stay on record for accounting."""
    await service.delete(session, principal.company_id, assistant_id)
    return Deleted()
