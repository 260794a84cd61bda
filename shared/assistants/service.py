"""Business rules for assistants, shared by the API and the workers."""

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assistants import bodies, repository
from shared.assistants.errors import AssistantNotFound, InvalidModel, InvalidProvider
from shared.assistants.schemas import AssistantCreate, AssistantUpdate, SortBy, SortOrder
from shared.catalogue.schemas import PROVIDERS
from shared.catalogue.service import find_model
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.ids import is_id
from shared.models import Assistant
from shared.prompt_history.repository import add_version


def validate_model(provider: str, model_id: str, max_tokens: int | None) -> None:
    if provider not in PROVIDERS:
        raise InvalidProvider(
            f"Unsupported provider '{provider}': use one of {', '.join(PROVIDERS)}"
        )
    model = find_model(provider, model_id)
    if model is None:
        raise InvalidModel(
            f"Model '{model_id}' is not offered by provider '{provider}'; see GET /api/models"
        )
    if max_tokens is not None and max_tokens > model.max_output_tokens:
        raise ValidationFailed(
            f"maxTokens {max_tokens} exceeds the maximum output of {model_id} "
            f"({model.max_output_tokens})",
            details=[{"field": "maxTokens", "max": model.max_output_tokens}],
        )


async def get(session: AsyncSession, company_id: str, assistant_id: str) -> Assistant:
    assistant = await repository.get(session, company_id, assistant_id)
    if assistant is None:
        raise AssistantNotFound()
    return assistant


async def get_body(pool: asyncpg.Pool, company_id: str, assistant_id: str) -> str:
    """The assistant as the spec's JSON (see `bodies`)."""
    body = await bodies.get(pool, company_id, assistant_id) if is_id(assistant_id) else None
    if body is None:  # a malformed id cannot exist (and PostgreSQL rejects some strings)
        raise AssistantNotFound()
    return body


async def list_body(
    pool: asyncpg.Pool,
    company_id: str,
    *,
    team_id: str | None,
    sort_by: SortBy,
    order: SortOrder | None,
    page: int,
    limit: int,
) -> str:
    """One page of the listing as the spec's JSON, with the exact total of live assistants."""
    if order is None:  # newest and most recently used first; names A to Z
        order = SortOrder.asc if sort_by is SortBy.name else SortOrder.desc
    total, data = await bodies.list_page(
        pool,
        company_id,
        team_id=team_id,
        sort_by=sort_by,
        order=order,
        offset=(page - 1) * limit,
        limit=limit,
    )
    return f'{{"data":{data},"meta":{{"page":{page},"limit":{limit},"total":{total}}}}}'


async def create(
    session: AsyncSession, company_id: str, key_id: str | None, data: AssistantCreate
) -> Assistant:
    validate_model(data.llm_provider, data.llm_model, data.max_tokens)
    now = utcnow()
    assistant = Assistant(
        company_id=company_id,
        **data.model_dump(mode="json"),
        prompt_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(assistant)
    await session.flush()
    await add_version(session, assistant, source="create", key_id=key_id)
    return assistant


async def update(
    session: AsyncSession,
    company_id: str,
    key_id: str | None,
    assistant_id: str,
    data: AssistantUpdate,
) -> Assistant:
    """Apply the fields sent; a changed prompt records the next prompt version."""
    changes: dict[str, Any] = data.model_dump(mode="json", include=data.model_fields_set)
    change_note = changes.pop("change_note", None)
    assistant = await repository.get(session, company_id, assistant_id, for_update=True)
    if assistant is None:
        raise AssistantNotFound()
    if {"llm_provider", "llm_model", "max_tokens"} & changes.keys():
        validate_model(
            changes.get("llm_provider", assistant.llm_provider),
            changes.get("llm_model", assistant.llm_model),
            changes.get("max_tokens", assistant.max_tokens),
        )
    prompt_changed = "llm_prompt" in changes and changes["llm_prompt"] != assistant.llm_prompt
    for field, value in changes.items():
        setattr(assistant, field, [] if value is None and field in ("team_ids", "tools") else value)
    assistant.updated_at = utcnow()
    if prompt_changed:
        assistant.prompt_version += 1
        await add_version(
            session, assistant, source="update", key_id=key_id, change_note=change_note
        )
    await session.flush()
    return assistant


async def delete(session: AsyncSession, company_id: str, assistant_id: str) -> None:
    """Soft delete: jobs, sessions and usage records keep pointing at the row for accounting."""
    assistant = await repository.get(session, company_id, assistant_id, for_update=True)
    if assistant is None:
        raise AssistantNotFound()
    assistant.deleted_at = utcnow()
    await session.flush()
