"""Admission of the common execute request in one statement: a new conversation, nothing else.

Most execute calls carry only `userInput` (no `sessionId`, idempotency key, attachments or tool
results). For those nothing needs a lock or a look at earlier jobs, so the assistant read, the new
session row and the job row are one INSERT ... SELECT (one round trip, one commit) instead of the
general path's eight. The general path in `service.admit` handles everything else; both write the
same rows.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.assistants.errors import AssistantNotFound
from shared.db import utcnow
from shared.ids import is_id, new_id
from shared.jobs.schemas import ExecuteRequest
from shared.limits.service import estimate_tokens
from shared.models import Job

# Parameters: $1 assistant id, $2 company id (then the INSERT's own from $3).
_ASSISTANT = """
    SELECT id, llm_provider, llm_model, max_tokens, prompt_version,
           coalesce(length(llm_prompt), 0) AS prompt_chars
    FROM assistants
    WHERE id = $1 AND company_id = $2 AND deleted_at IS NULL
"""

_INSERT = f"""
    WITH a AS ({_ASSISTANT}),
    s AS (
        INSERT INTO sessions (id, company_id, assistant_id, next_seq)
        SELECT $3, $2, a.id, 1 FROM a
        RETURNING id
    )
    INSERT INTO jobs (id, company_id, assistant_id, session_id, session_seq, kind, input,
                      prompt_version, provider, model, max_tokens, request_id, enqueued_at)
    SELECT $4, $2, a.id, s.id, 0, $5, $6::jsonb, a.prompt_version,
           a.llm_provider, a.llm_model, a.max_tokens, $7, $8
    FROM a, s
    RETURNING created_at, prompt_version, provider, model, max_tokens,
              (SELECT prompt_chars FROM a) AS prompt_chars
"""


@asynccontextmanager
async def _driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """asyncpg's own connection from the engine's pool: one statement, sent without BEGIN and
    COMMIT round trips (a single statement is its own transaction) or SQLAlchemy's per-call work."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection


def applies(body: ExecuteRequest, idempotency_key: str | None) -> bool:
    return not (body.session_id or idempotency_key or body.attachments or body.tool_results)


@dataclass(frozen=True, slots=True)
class Reserved:
    """What the limiter needs before the job is written (interactive requests only)."""

    job_id: str
    tokens: int


async def reserve(
    engine: AsyncEngine, company_id: str, assistant_id: str, body: ExecuteRequest
) -> Reserved:
    """Read the assistant for an interactive request: its limits are checked before any write."""
    if not is_id(assistant_id):
        raise AssistantNotFound()
    async with _driver(engine) as connection:
        row = await connection.fetchrow(_ASSISTANT, assistant_id, company_id)
    if row is None:
        raise AssistantNotFound()
    tokens = estimate_tokens(row["prompt_chars"] + len(body.user_input or ""), row["max_tokens"])
    return Reserved(job_id=new_id(), tokens=tokens)


async def insert(
    engine: AsyncEngine,
    company_id: str,
    assistant_id: str,
    body: ExecuteRequest,
    *,
    kind: str,
    request_id: str | None,
    job_id: str | None = None,
) -> tuple[Job, int]:
    """Write the session and the job (committed on return); the job and its token estimate.

    The Job is built from the inserted values, not re-read; it is not attached to any session.
    """
    if not is_id(assistant_id):
        raise AssistantNotFound()
    job_id = job_id or new_id()
    session_id = new_id()
    enqueued_at: datetime | None = utcnow() if kind == "interactive" else None
    data = body.model_dump(mode="json", by_alias=True, exclude={"session_id"})
    async with _driver(engine) as connection:
        row = await connection.fetchrow(
            _INSERT,
            assistant_id,
            company_id,
            session_id,
            job_id,
            kind,
            orjson.dumps(data).decode(),
            request_id,
            enqueued_at,
        )
    if row is None:
        raise AssistantNotFound()
    job = Job(
        id=job_id,
        company_id=company_id,
        assistant_id=assistant_id,
        session_id=session_id,
        session_seq=0,
        kind=kind,
        status="queued",
        blocked=False,
        input=data,
        prompt_version=row["prompt_version"],
        provider=row["provider"],
        model=row["model"],
        max_tokens=row["max_tokens"],
        attempts=0,
        request_id=request_id,
        created_at=row["created_at"],
        enqueued_at=enqueued_at,
    )
    tokens = estimate_tokens(row["prompt_chars"] + len(body.user_input or ""), row["max_tokens"])
    return job, tokens
