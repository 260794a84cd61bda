"""Admission of the common execute request in one statement: a new conversation, nothing else.

Most execute calls carry only `userInput` (no `sessionId`, idempotency key, attachments or tool
results). For those nothing needs a lock or a look at earlier jobs, so the assistant read, the new
session row and the job row are one INSERT ... SELECT (one round trip, one commit) instead of the
general path's eight, and rows of concurrent requests share one statement (`GroupInsert`).
The general path in `service.admit` handles everything else; both write the
same rows.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from shared.assistants.errors import AssistantNotFound
from shared.db import utcnow
from shared.ids import is_id, new_id
from shared.jobs.assistant_sizes import AssistantSizes, Sizes
from shared.jobs.schemas import ExecuteRequest
from shared.limits.service import estimate_tokens
from shared.models import Job

# Parameters: $1 assistant id, $2 company id.
_ASSISTANT = """
    SELECT id, llm_provider, llm_model, max_tokens, prompt_version,
           coalesce(length(llm_prompt), 0) AS prompt_chars
    FROM assistants
    WHERE id = $1 AND company_id = $2 AND deleted_at IS NULL
"""

# One row per request: $1 job ids, $2 session ids, $3 assistant ids, $4 company ids, $5 kinds,
# $6 inputs (JSON text), $7 request ids, $8 enqueued_at. Rows whose assistant is missing, deleted or
# another company's write nothing and return nothing. $9: commit without waiting for the WAL's
# flush (`relaxed_commit`).
_INSERT_MANY = """
    WITH relaxed AS MATERIALIZED (
        SELECT set_config('synchronous_commit', 'off', true) WHERE $9::boolean
    ),
    r AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::timestamptz[])
            AS r(job_id, session_id, assistant_id, company_id, kind, input, request_id, enqueued_at)
    ),
    a AS (
        SELECT r.*, x.llm_provider, x.llm_model, x.max_tokens, x.prompt_version,
               coalesce(length(x.llm_prompt), 0) AS prompt_chars
        FROM r JOIN assistants x
          ON x.id = r.assistant_id AND x.company_id = r.company_id AND x.deleted_at IS NULL
          LEFT JOIN relaxed ON true
    ),
    s AS (
        INSERT INTO sessions (id, company_id, assistant_id, next_seq)
        SELECT session_id, company_id, assistant_id, 1 FROM a
        RETURNING id
    )
    INSERT INTO jobs (id, company_id, assistant_id, session_id, session_seq, kind, input,
                      prompt_version, provider, model, max_tokens, request_id, enqueued_at,
                      created_at)
    SELECT a.job_id, a.company_id, a.assistant_id, s.id, 0, a.kind, a.input::jsonb,
           a.prompt_version, a.llm_provider, a.llm_model, a.max_tokens, a.request_id,
           a.enqueued_at, clock_timestamp()
    FROM a JOIN s ON s.id = a.session_id
    RETURNING id, created_at, prompt_version, provider, model, max_tokens,
              (SELECT prompt_chars FROM a WHERE a.job_id = jobs.id) AS prompt_chars
"""
_ROW_FIELDS = 8
_KIND = 4
MAX_ROWS = 500


def relaxed_commit(kinds: list[str]) -> bool:
    """Whether a group's insert may commit before its WAL reaches the disk: only when every job
    in it is interactive. Such a job's caller hears nothing durable-looking before its outcome is
    written, and that write commits synchronously, flushing the WAL through this insert too (a
    202 after the synchronous wait comes seconds later, long after the WAL writer's flush, at
    most three `wal_writer_delay`s). A database crash in between loses the job with its request,
    which then ends in an error: nothing half-written. An asynchronous job or batch item answers
    202 with its id right after the insert, so its commit must be durable. The flush was 0.44 ms
    of a synchronous request's insert (stage probes, docs/benchmarks.md)."""
    return all(kind == "interactive" for kind in kinds)


def applies(body: ExecuteRequest, idempotency_key: str | None) -> bool:
    return not (body.session_id or idempotency_key or body.attachments or body.tool_results)


@dataclass(frozen=True, slots=True)
class Reserved:
    """What the limiter needs before the job is written (interactive requests only)."""

    job_id: str
    tokens: int


async def reserve(
    pool: asyncpg.Pool,
    known: AssistantSizes,
    company_id: str,
    assistant_id: str,
    body: ExecuteRequest,
    *,
    job_id: str | None = None,
) -> Reserved:
    """The token estimate of an interactive request, whose limits are checked before any write:
    from the sizes the process last stored for the assistant, else read from the database. The
    job's id is `job_id` when the caller chose it (a new one otherwise)."""
    if not is_id(assistant_id):
        raise AssistantNotFound()
    sizes = known.get(company_id, assistant_id)
    if sizes is None:
        async with pool.acquire() as connection:
            row = await connection.fetchrow(_ASSISTANT, assistant_id, company_id)
        if row is None:
            raise AssistantNotFound()
        sizes = Sizes(row["prompt_chars"], row["max_tokens"])
        known.put(company_id, assistant_id, sizes)
    tokens = estimate_tokens(sizes.prompt_chars + len(body.user_input or ""), sizes.max_tokens)
    return Reserved(job_id=job_id or new_id(), tokens=tokens)


class GroupInsert:
    """Writes the rows of concurrent requests together: group commit for admissions.

    A request's row goes out at once when no write is in flight; rows that arrive while writes
    are in flight go together in the next one. Idle, a request waits for nothing; under load one
    statement and one commit serve many requests, which is what lets admission outrun one
    INSERT per request. One statement is one transaction: its rows succeed or fail together.
    """

    def __init__(self, pool: asyncpg.Pool, max_in_flight: int = 2) -> None:
        self.pool = pool  # asyncpg's own (`shared.db.create_driver_pool`)
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, row: tuple[Any, ...]) -> Any:
        """The inserted row's RETURNING record, or None when its assistant is not there."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._in_flight < self._max_in_flight:
            self._start()
        return await future

    def _start(self) -> None:
        batch, self._pending = self._pending[:MAX_ROWS], self._pending[MAX_ROWS:]
        self._in_flight += 1
        task = asyncio.create_task(self._write(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            columns = [[row[i] for row, _ in batch] for i in range(_ROW_FIELDS)]
            relaxed = relaxed_commit(columns[_KIND])
            async with self.pool.acquire() as connection:
                records = await connection.fetch(_INSERT_MANY, *columns, relaxed)
            by_id = {record["id"]: record for record in records}
            for row, future in batch:
                if not future.done():
                    future.set_result(by_id.get(row[0]))
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._in_flight -= 1
            if self._pending:
                self._start()


async def insert(
    writer: GroupInsert,
    company_id: str,
    assistant_id: str,
    body: ExecuteRequest,
    *,
    kind: str,
    request_id: str | None,
    job_id: str | None = None,
) -> tuple[Job, Sizes]:
    """Write the session and the job (committed on return); the job and the assistant's sizes
    as the insert read them.

    The Job is built from the inserted values, not re-read; it is not attached to any session.
    """
    if not is_id(assistant_id):
        raise AssistantNotFound()
    job_id = job_id or new_id()
    session_id = new_id()
    enqueued_at: datetime | None = utcnow() if kind == "interactive" else None
    data = body.model_dump(mode="json", by_alias=True, exclude={"session_id"})
    row = await writer.submit(
        (
            job_id,
            session_id,
            assistant_id,
            company_id,
            kind,
            orjson.dumps(data).decode(),
            request_id,
            enqueued_at,
        )
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
    return job, Sizes(row["prompt_chars"], row["max_tokens"])
