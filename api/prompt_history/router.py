"""Prompt history of an assistant: versions, compare, rollback and per-version statistics."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.dependencies import CurrentPrincipal, SessionDep
from api.errors import error_responses
from shared.assistants.errors import AssistantNotFound
from shared.assistants.schemas import Assistant
from shared.errors import Unauthorized
from shared.prompt_history import service
from shared.prompt_history.errors import PromptAlreadyCurrent, PromptVersionNotFound
from shared.prompt_history.schemas import (
    PromptComparison,
    PromptStatistics,
    PromptVersionDetail,
    PromptVersionList,
    RollbackRequest,
    RollbackResult,
)

router = APIRouter(prefix="/api/assistants/{assistant_id}/prompt-history", tags=["prompt history"])

_ASSISTANT = error_responses(Unauthorized, AssistantNotFound)
_VERSION = error_responses(Unauthorized, AssistantNotFound, PromptVersionNotFound)
_ROLLBACK = error_responses(
    Unauthorized, AssistantNotFound, PromptVersionNotFound, PromptAlreadyCurrent
)
# Required, but checked by the service after the assistant is found: another company's
# assistant is a 404 whatever the query says (the tenancy matrix relies on that).
VersionNumber = Annotated[
    int | None, Query(description="Required: a version number of this assistant's prompt.")
]


@router.get("", response_model=PromptVersionList, responses=_ASSISTANT)
async def list_versions(
    assistant_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PromptVersionList:
    """The assistant's prompt versions, newest first, each with a short preview of its text.

    `isCurrent` marks the version the assistant runs with now.
    """
    items, meta = await service.list_page(
        session, principal.company_id, assistant_id, page=page, limit=limit
    )
    return PromptVersionList(data=items, meta=meta)


# `compare` and `statistics` are declared before `/{version}` so they are never read as one.
@router.get("/compare", response_model=PromptComparison, responses=_VERSION)
async def compare_versions(
    assistant_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    v1: VersionNumber = None,
    v2: VersionNumber = None,
) -> PromptComparison:
    """What changed from version `v1` to version `v2`: a unified diff of the lines, the same
    changes as structured hunks, and summary figures. A version compared with itself is an
    empty diff with similarity 1.
    """
    return await service.compare(session, principal.company_id, assistant_id, v1, v2)


@router.get("/statistics", response_model=PromptStatistics, responses=_ASSISTANT)
async def prompt_statistics(
    assistant_id: str, principal: CurrentPrincipal, session: SessionDep
) -> PromptStatistics:
    """How the prompt changed over time, and how each version performed in the executions
    that ran with it (finished jobs; token and latency figures from succeeded ones).
    """
    return await service.statistics(session, principal.company_id, assistant_id)


@router.get("/{version}", response_model=PromptVersionDetail, responses=_VERSION)
async def get_version(
    assistant_id: str, version: int, principal: CurrentPrincipal, session: SessionDep
) -> PromptVersionDetail:
    """One prompt version with its full text."""
    return await service.get_version(session, principal.company_id, assistant_id, version)


@router.post("/{version}/rollback", response_model=RollbackResult, responses=_ROLLBACK)
async def rollback(
    assistant_id: str,
    version: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: RollbackRequest | None = None,
) -> RollbackResult:
    """Make `version`'s prompt current again. History is append-only: the restored text is
    recorded as a new version (source `rollback`, `restoredFrom` = `version`), which the
    assistant runs with from now on. Restoring the prompt already in use is a 409.
    """
    assistant, new_version = await service.rollback(
        session,
        principal.company_id,
        principal.key_id,
        assistant_id,
        version,
        body.change_note if body else None,
    )
    return RollbackResult(assistant=Assistant.model_validate(assistant), version=new_version)
