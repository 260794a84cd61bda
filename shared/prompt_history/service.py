"""Prompt history: listing, comparing and restoring versions, and how each version performed.

Every call first resolves the assistant within the caller's company (another company's or a
deleted assistant is `AssistantNotFound`); versions are then looked up under that assistant.
"""

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assistants import repository as assistants
from shared.assistants.errors import AssistantNotFound
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.models import Assistant, PromptVersion
from shared.prompt_history import diff, repository
from shared.prompt_history.errors import PromptAlreadyCurrent, PromptVersionNotFound
from shared.prompt_history.schemas import (
    PromptComparison,
    PromptStatistics,
    PromptVersionDetail,
    PromptVersionSummary,
    VersionStatistics,
)
from shared.schemas import PageMeta

SECONDS_PER_WEEK = 7 * 24 * 3600


async def _assistant(
    session: AsyncSession, company_id: str, assistant_id: str, *, for_update: bool = False
) -> Assistant:
    assistant = await assistants.get(session, company_id, assistant_id, for_update=for_update)
    if assistant is None:
        raise AssistantNotFound()
    return assistant


async def _version(session: AsyncSession, assistant: Assistant, version: int) -> PromptVersion:
    found = await repository.get_versions(session, assistant.company_id, assistant.id, [version])
    if version not in found:
        raise PromptVersionNotFound(f"Assistant has no prompt version {version}")
    return found[version]


async def list_page(
    session: AsyncSession, company_id: str, assistant_id: str, *, page: int, limit: int
) -> tuple[list[PromptVersionSummary], PageMeta]:
    assistant = await _assistant(session, company_id, assistant_id)
    rows, total = await repository.list_page(
        session, company_id, assistant.id, offset=(page - 1) * limit, limit=limit
    )
    items = [
        PromptVersionSummary.model_validate(
            {**row._mapping, "is_current": row.version == assistant.prompt_version}
        )
        for row in rows
    ]
    return items, PageMeta(page=page, limit=limit, total=total)


def _detail(version: PromptVersion, current: int) -> PromptVersionDetail:
    return PromptVersionDetail(
        version=version.version,
        source=version.source,  # type: ignore[arg-type]  # create | update | rollback
        restored_from=version.restored_from,
        change_note=version.change_note,
        created_by=version.created_by_key_id,
        created_at=version.created_at,
        llm_provider=version.llm_provider,
        llm_model=version.llm_model,
        max_tokens=version.max_tokens,
        prompt_length=len(version.prompt or ""),
        is_current=version.version == current,
        prompt=version.prompt,
    )


async def get_version(
    session: AsyncSession, company_id: str, assistant_id: str, version: int
) -> PromptVersionDetail:
    assistant = await _assistant(session, company_id, assistant_id)
    return _detail(await _version(session, assistant, version), assistant.prompt_version)


async def compare(
    session: AsyncSession, company_id: str, assistant_id: str, v1: int | None, v2: int | None
) -> PromptComparison:
    """What changed from `v1` to `v2` (either order; the same version twice is an empty diff)."""
    assistant = await _assistant(session, company_id, assistant_id)
    if v1 is None or v2 is None:
        missing = [name for name, value in (("v1", v1), ("v2", v2)) if value is None]
        raise ValidationFailed(
            f"Invalid request: {' and '.join(missing)} missing; compare with e.g. ?v1=1&v2=2",
            details=[{"field": f"query.{name}", "message": "Field required"} for name in missing],
        )
    found = await repository.get_versions(session, company_id, assistant.id, {v1, v2})
    missing = [str(v) for v in dict.fromkeys((v1, v2)) if v not in found]
    if missing:
        raise PromptVersionNotFound(f"Assistant has no prompt version {' or '.join(missing)}")
    old, new = found[v1].prompt or "", found[v2].prompt or ""
    # Up to 2 x 100,000 characters: off the event loop.
    text, hunks, summary = await asyncio.to_thread(diff.compare, old, new, f"v{v1}", f"v{v2}")
    return PromptComparison(v1=v1, v2=v2, unified_diff=text, hunks=hunks, summary=summary)


async def rollback(
    session: AsyncSession,
    company_id: str,
    key_id: str | None,
    assistant_id: str,
    version: int,
    change_note: str | None,
) -> tuple[Assistant, int]:
    """Make `version`'s prompt current again by recording it as the next version.

    Takes the same row lock as an update, so rollbacks and updates are numbered one after the
    other. Restoring the text the assistant already uses is `PromptAlreadyCurrent` (409).
    """
    assistant = await _assistant(session, company_id, assistant_id, for_update=True)
    target = await _version(session, assistant, version)
    if target.prompt == assistant.llm_prompt:
        raise PromptAlreadyCurrent(
            f"Version {version} has the prompt the assistant already uses "
            f"(current version {assistant.prompt_version}); nothing to roll back"
        )
    assistant.llm_prompt = target.prompt
    assistant.prompt_version += 1
    assistant.updated_at = utcnow()
    await repository.add_version(
        session,
        assistant,
        source="rollback",
        key_id=key_id,
        change_note=change_note,
        restored_from=target.version,
    )
    return assistant, assistant.prompt_version


def _number(value: Decimal | float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _version_statistics(row: Row[Any]) -> VersionStatistics:
    return VersionStatistics(
        version=row.version,
        executions=row.executions,
        succeeded=row.succeeded,
        failed=row.executions - row.succeeded,
        success_rate=round(row.succeeded / row.executions, 4) if row.executions else None,
        average_input_tokens=_number(row.average_input_tokens, 2),
        average_output_tokens=_number(row.average_output_tokens, 2),
        total_cost=_number(row.total_cost, 8) or 0.0,
        average_latency_ms=_number(row.average_latency_ms, 1),
        p95_latency_ms=_number(row.p95_latency_ms, 1),
        last_used_at=row.last_used_at,
    )


async def statistics(session: AsyncSession, company_id: str, assistant_id: str) -> PromptStatistics:
    assistant = await _assistant(session, company_id, assistant_id)
    figures = await repository.history_figures(session, company_id, assistant.id)
    per_version = await repository.version_statistics(session, company_id, assistant.id)
    # A young history counts as one week, so three changes on day one read 3/week, not 63/week.
    weeks = max(float(figures.age_seconds or 0) / SECONDS_PER_WEEK, 1.0)
    return PromptStatistics(
        total_versions=figures.total_versions,
        current_version=assistant.prompt_version,
        first_change_at=figures.first_change_at,
        last_change_at=figures.last_change_at,
        changes_per_week=round(max(figures.total_versions - 1, 0) / weeks, 2),
        rollbacks=figures.rollbacks,
        average_prompt_length=_number(figures.average_prompt_length, 1) or 0.0,
        versions=[_version_statistics(row) for row in per_version],
    )
