"""Batches: many execute items accepted at once, run as ordinary jobs, read back by customId."""

from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assistants import service as assistants
from shared.batches import repository
from shared.batches.errors import BatchNotFound, BatchTooLarge, NoValidItems
from shared.batches.schemas import BatchCounts, BatchItem, BatchOut, InvalidItem
from shared.config import Settings
from shared.db import utcnow
from shared.errors import AppError
from shared.ids import new_id
from shared.jobs import service as jobs
from shared.jobs.schemas import ExecuteRequest
from shared.limits.errors import queue_full
from shared.limits.service import limits_of, queued_count
from shared.models import Assistant, Batch

OPEN = ("queued", "running")


def _invalid(index: int, raw: Any, errors: list[dict[str, Any]]) -> InvalidItem:
    custom_id = raw.get("customId") if isinstance(raw, dict) else None
    return InvalidItem(
        index=index,
        custom_id=str(custom_id)[:200] if custom_id is not None else None,
        errors=errors,
    )


def parse_items(
    assistant: Assistant, raw_items: list[Any]
) -> tuple[list[BatchItem], list[InvalidItem]]:
    """Validate each item on its own: an invalid item is reported, and does not sink the others."""
    valid: list[BatchItem] = []
    invalid: list[InvalidItem] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        try:
            item = BatchItem.model_validate(raw)
            if item.attachments:
                jobs.validate_attachments(
                    assistant,
                    ExecuteRequest(user_input=item.user_input, attachments=item.attachments),
                )
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            invalid.append(_invalid(index, raw, errors))
            continue
        except AppError as exc:
            invalid.append(
                _invalid(index, raw, [{"field": "attachments", "message": exc.detail_message}])
            )
            continue
        if item.custom_id in seen:
            invalid.append(
                _invalid(
                    index,
                    raw,
                    [{"field": "customId", "message": "customId must be unique in the batch"}],
                )
            )
            continue
        seen.add(item.custom_id)
        valid.append(item)
    return valid, invalid


async def create(
    session: AsyncSession,
    company_id: str,
    assistant_id: str,
    raw_items: list[Any],
    settings: Settings,
) -> Batch:
    """Record the batch and its valid items (one COPY for items without a session)."""
    if len(raw_items) > settings.batch_max_items:
        raise BatchTooLarge(
            f"A batch holds at most {settings.batch_max_items} items; this one has {len(raw_items)}"
        )
    assistant = await assistants.get(session, company_id, assistant_id)
    valid, invalid = parse_items(assistant, raw_items)
    if not valid:
        raise NoValidItems(details=[item.model_dump(by_alias=True) for item in invalid[:100]])
    limits = await limits_of(session, company_id, settings)
    if await queued_count(session, company_id) + len(valid) > limits.max_queued:
        raise queue_full(limits)
    batch = Batch(
        company_id=company_id,
        assistant_id=assistant_id,
        total_items=len(valid),
        invalid_items=[item.model_dump(mode="json", by_alias=True) for item in invalid],
    )
    session.add(batch)
    await session.flush()
    plain = [item for item in valid if not item.session_id]
    await repository.copy_jobs(
        session,
        [
            (
                new_id(),
                company_id,
                assistant_id,
                "batch",
                orjson.dumps(
                    {
                        "userInput": item.user_input,
                        "attachments": [
                            a.model_dump(mode="json", by_alias=True) for a in item.attachments
                        ],
                        "toolResults": [],
                    }
                ).decode(),
                assistant.prompt_version,
                assistant.llm_provider,
                assistant.llm_model,
                assistant.max_tokens,
                batch.id,
                item.custom_id,
            )
            for item in plain
        ],
    )
    for item in valid:
        if item.session_id:  # conversation turns keep their order through the session chain
            request = ExecuteRequest(
                user_input=item.user_input, session_id=item.session_id, attachments=item.attachments
            )
            admission = await jobs.admit(session, company_id, assistant_id, request, kind="batch")
            admission.job.batch_id = batch.id
            admission.job.custom_id = item.custom_id
    await session.flush()
    return batch


async def get(session: AsyncSession, company_id: str, batch_id: str) -> Batch:
    batch = await repository.get(session, company_id, batch_id)
    if batch is None:
        raise BatchNotFound()
    return batch


def to_out(batch: Batch, counts: dict[str, int]) -> BatchOut:
    open_jobs = sum(counts.get(status, 0) for status in OPEN)
    finished = sum(counts.values()) - open_jobs
    if batch.cancelled_at:
        status = "cancelling" if open_jobs else "cancelled"
    else:
        status = "running" if open_jobs else "completed"
    return BatchOut(
        id=batch.id,
        assistant_id=batch.assistant_id,
        status=status,
        total_items=batch.total_items,
        invalid_items=[InvalidItem.model_validate(item) for item in batch.invalid_items],
        counts=BatchCounts(**counts),
        progress=round(finished / batch.total_items, 4) if batch.total_items else 1.0,
        created_at=batch.created_at,
        cancelled_at=batch.cancelled_at,
    )


async def describe(session: AsyncSession, batch: Batch) -> BatchOut:
    return to_out(batch, (await repository.counts(session, [batch.id]))[batch.id])


async def cancel(
    session: AsyncSession, company_id: str, batch_id: str
) -> tuple[Batch, list[tuple[str, bool]]]:
    """Cancel what has not started; returns the cancelled (job id, dispatched) for the limiter."""
    batch = await repository.get(session, company_id, batch_id, for_update=True)
    if batch is None:
        raise BatchNotFound()
    batch.cancelled_at = batch.cancelled_at or utcnow()
    return batch, await repository.cancel_queued(session, batch.id)
