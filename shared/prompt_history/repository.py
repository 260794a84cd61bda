"""Every query on prompt versions; each one is scoped to a company and an assistant."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.models import Assistant, Job, PromptVersion, UsageRecord
from shared.prompt_history.schemas import PREVIEW_CHARS

# `prompt_versions.version` is an int4: a number outside it cannot exist (and cannot be bound).
MAX_VERSION = 2**31 - 1

_LENGTH = func.coalesce(func.length(PromptVersion.prompt), 0)  # characters, not bytes
# What a list item needs: the preview is cut in SQL so long prompts never leave the database.
_SUMMARY_COLUMNS = (
    PromptVersion.version,
    PromptVersion.source,
    PromptVersion.restored_from,
    PromptVersion.change_note,
    PromptVersion.created_by_key_id.label("created_by"),
    PromptVersion.created_at,
    PromptVersion.llm_provider,
    PromptVersion.llm_model,
    PromptVersion.max_tokens,
    _LENGTH.label("prompt_length"),
    func.left(PromptVersion.prompt, PREVIEW_CHARS).label("preview"),
)


def _of(company_id: str, assistant_id: str) -> list[ColumnElement[bool]]:
    return [PromptVersion.company_id == company_id, PromptVersion.assistant_id == assistant_id]


async def add_version(
    session: AsyncSession,
    assistant: Assistant,
    *,
    source: str,
    key_id: str | None,
    change_note: str | None = None,
    restored_from: int | None = None,
) -> PromptVersion:
    """Append the assistant's current prompt as version `assistant.prompt_version`.

    The caller holds the assistant row locked (or just created it), so version numbers never race.
    """
    version = PromptVersion(
        company_id=assistant.company_id,
        assistant_id=assistant.id,
        version=assistant.prompt_version,
        prompt=assistant.llm_prompt,
        llm_provider=assistant.llm_provider,
        llm_model=assistant.llm_model,
        max_tokens=assistant.max_tokens,
        source=source,
        restored_from=restored_from,
        change_note=change_note,
        created_by_key_id=key_id,
    )
    session.add(version)
    await session.flush()
    return version


async def list_page(
    session: AsyncSession, company_id: str, assistant_id: str, *, offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    """Versions newest first, without their full text, and how many there are."""
    where = _of(company_id, assistant_id)
    total = (await session.execute(select(func.count()).where(*where))).scalar_one()
    rows = await session.execute(
        select(*_SUMMARY_COLUMNS)
        .where(*where)
        .order_by(PromptVersion.version.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), total


async def get_versions(
    session: AsyncSession, company_id: str, assistant_id: str, versions: Collection[int]
) -> dict[int, PromptVersion]:
    """The versions that exist among `versions`, by number (any integer may be asked for)."""
    wanted = {v for v in versions if 1 <= v <= MAX_VERSION}
    if not wanted:
        return {}
    rows = await session.execute(
        select(PromptVersion).where(
            *_of(company_id, assistant_id), PromptVersion.version.in_(wanted)
        )
    )
    return {row.version: row for row in rows.scalars()}


async def history_figures(session: AsyncSession, company_id: str, assistant_id: str) -> Row[Any]:
    """Counts and dates over the whole history, in one aggregate query."""
    first = func.min(PromptVersion.created_at)
    query = select(
        func.count().label("total_versions"),
        first.label("first_change_at"),
        func.max(PromptVersion.created_at).label("last_change_at"),
        func.count().filter(PromptVersion.source == "rollback").label("rollbacks"),
        func.avg(_LENGTH).label("average_prompt_length"),
        func.extract("epoch", func.now() - first).label("age_seconds"),
    ).where(*_of(company_id, assistant_id))
    return (await session.execute(query)).one()


async def version_statistics(
    session: AsyncSession, company_id: str, assistant_id: str
) -> list[Row[Any]]:
    """Per version, newest first: its finished jobs and their usage, aggregated in SQL.

    Failed calls carry no tokens and no latency, so token and latency figures cover succeeded
    jobs only; cost sums every usage record. A version that never ran has a row of zeros/nulls.
    """
    ok = Job.status == "succeeded"
    ran_with_version = and_(
        Job.company_id == PromptVersion.company_id,
        Job.assistant_id == PromptVersion.assistant_id,
        Job.prompt_version == PromptVersion.version,
        Job.status.in_(("succeeded", "failed")),
    )
    query = (
        select(
            PromptVersion.version,
            func.count(Job.id).label("executions"),
            func.count(Job.id).filter(ok).label("succeeded"),
            func.avg(UsageRecord.input_tokens).filter(ok).label("average_input_tokens"),
            func.avg(UsageRecord.output_tokens).filter(ok).label("average_output_tokens"),
            func.coalesce(func.sum(UsageRecord.cost), 0).label("total_cost"),
            func.avg(UsageRecord.latency_ms).filter(ok).label("average_latency_ms"),
            func.percentile_cont(0.95)
            .within_group(UsageRecord.latency_ms)
            .filter(ok)
            .label("p95_latency_ms"),
            func.max(Job.finished_at).label("last_used_at"),
        )
        .select_from(PromptVersion)
        .outerjoin(Job, ran_with_version)
        .outerjoin(UsageRecord, UsageRecord.job_id == Job.id)
        .where(*_of(company_id, assistant_id))
        .group_by(PromptVersion.version)
        .order_by(PromptVersion.version.desc())
    )
    return list((await session.execute(query)).all())
