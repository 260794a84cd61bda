"""Assistants CRUD, to the letter of the spec."""

from fastapi import APIRouter, Request, Response

from api.assistants.dependencies import ReadPool
from api.dependencies import CurrentPrincipal, SessionDep
from api.errors import error_responses
from api.query import parse_query, query_parameters
from shared.assistants import service
from shared.assistants.errors import AssistantNotFound, InvalidModel, InvalidProvider
from shared.assistants.schemas import (
    Assistant,
    AssistantCreate,
    AssistantList,
    AssistantUpdate,
    Deleted,
    ListQuery,
)
from shared.errors import Unauthorized

router = APIRouter(prefix="/api/assistants", tags=["assistants"])

_AUTH = error_responses(Unauthorized)
_FOUND = error_responses(Unauthorized, AssistantNotFound)
_MODEL = error_responses(Unauthorized, InvalidProvider, InvalidModel)
_UPDATE = error_responses(Unauthorized, AssistantNotFound, InvalidProvider, InvalidModel)


@router.get(
    "",
    response_model=AssistantList,
    responses=_AUTH,
    openapi_extra=query_parameters(ListQuery),
)
async def list_assistants(
    request: Request, principal: CurrentPrincipal, pool: ReadPool
) -> Response:
    """All assistants of the caller's company, newest first unless `sortBy`/`order` say otherwise.

    `sortBy=lastUsed` orders by `lastAccessedAt` with never-used assistants last.
    """
    query = parse_query(ListQuery, request)  # not declared parameters: api/query.py says why
    body = await service.list_body(
        pool,
        principal.company_id,
        team_id=query.team_id,
        sort_by=query.sort_by,
        order=query.order,
        page=query.page,
        limit=query.limit,
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
