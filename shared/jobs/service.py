"""Admission of execute requests, job reads and cancellation (the API's side of jobs)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from shared.assistants import service as assistants
from shared.assistants.errors import AssistantNotFound
from shared.catalogue.service import find_model
from shared.db import utcnow
from shared.ids import new_id
from shared.jobs import fresh_admission, repository
from shared.jobs.assistant_sizes import AssistantSizes
from shared.jobs.errors import (
    IdempotencyKeyReused,
    InvalidToolResult,
    JobNotCancellable,
    JobNotFound,
    UnsupportedAttachment,
)
from shared.jobs.lifecycle import Outcome, release_next_in_session
from shared.jobs.schemas import (
    ExecuteRequest,
    JobError,
    JobOut,
    JobResult,
    JobStatus,
    ToolCall,
    Usage,
)
from shared.limits.errors import queue_full, refused
from shared.limits.limiter import Limiter
from shared.limits.queued import QueuedGauge
from shared.limits.schemas import Decision, Limits
from shared.limits.service import estimate_tokens
from shared.models import Assistant, Job
from shared.queueing import QueuedMessage
from shared.sessions import service as sessions
from shared.sessions.repository import messages as session_messages

logger = structlog.get_logger(__name__)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class Admission:
    job: Job
    created: bool  # False when an Idempotency-Key replays an earlier job
    limits: Limits | None = None
    decision: Decision | None = None  # the limiter's view after this request

    @property
    def should_enqueue(self) -> bool:
        """Interactive jobs go straight to a worker; the dispatcher releases the others."""
        return self.created and not self.job.blocked and self.job.kind == "interactive"


@dataclass(frozen=True, slots=True)
class Gate:
    """The company limits an execute request must pass."""

    limiter: Limiter
    queue: QueuedGauge
    limits: Limits  # the company's, read with its API key
    # Where an admitted job's message goes when the broker is not the limiter's Redis (None: it
    # is, and the message rides with the admission, `Limiter.acquire(send=...)`).
    separate_broker: Redis | None = None


async def _pass_gate(
    gate: Gate,
    company_id: str,
    job_id: str,
    kind: str,
    tokens: int,
    message: QueuedMessage | None = None,
) -> tuple[Limits, Decision | None]:
    """Interactive requests are admitted now or refused (429); others only against the queue cap.

    Only an interactive answer carries `X-RateLimit-*`: an asynchronous job does not consume the
    rate when it is accepted (the dispatcher admits it later), so remaining/reset would mislead.
    `message`: the job's task message, sent once the job is admitted (see `admit_fresh`).
    """
    limits = gate.limits
    if kind == "interactive":
        send = None
        if message is not None and gate.separate_broker is None:
            send = (message.key, message.body)
        decision = await gate.limiter.acquire(company_id, limits, job_id, tokens, send=send)
        if not decision.allowed:
            raise refused(limits, decision)
        if message is not None and gate.separate_broker is not None:
            try:
                await gate.separate_broker.lpush(message.key, message.body)
            except Exception as exc:  # the job stays queued; the reaper sends it later
                logger.warning("enqueue failed; the reaper will retry", error=type(exc).__name__)
        return limits, decision
    if not await gate.queue.take(company_id, limits.max_queued):
        raise queue_full(limits)
    return limits, None  # the rates are checked when the dispatcher hands the job out


async def admit_fresh(
    writer: fresh_admission.GroupInsert,
    known: AssistantSizes,
    gate: Gate,
    company_id: str,
    assistant_id: str,
    body: ExecuteRequest,
    *,
    kind: str,
    request_id: str | None = None,
    message: QueuedMessage | None = None,
) -> Admission:
    """`admit` for a request that starts a new conversation (see `fresh_admission`); `known`
    holds the assistants' sizes for the limiter's estimate (`assistant_sizes`).

    An interactive job is refused over the limits before anything is written. Its task
    `message` (which names the job's id) leaves with the admission, before the row is written:
    the worker's receipt of the message overlaps the insert instead of following it (about 2 ms
    of a synchronous request, docs/benchmarks.md), and a worker that claims too early waits for
    the row (`workers.jobs.pipeline`). If the insert fails, the request fails, its limiter
    reservation is freed, and the worker finds no row and drops the message.
    """
    if kind == "interactive":
        reserved = await fresh_admission.reserve(
            writer.pool,
            known,
            company_id,
            assistant_id,
            body,
            job_id=None if message is None else message.job_id,
        )
        limits, decision = await _pass_gate(
            gate, company_id, reserved.job_id, kind, reserved.tokens, message
        )
        try:
            job, sizes = await fresh_admission.insert(
                writer,
                company_id,
                assistant_id,
                body,
                kind=kind,
                request_id=request_id,
                job_id=reserved.job_id,
            )
        except BaseException as exc:
            if isinstance(exc, AssistantNotFound):  # deleted since its sizes were stored
                known.drop(company_id, assistant_id)
            await gate.limiter.settle(company_id, reserved.job_id, 0)
            raise
        known.put(company_id, assistant_id, sizes)
        return Admission(job=job, created=True, limits=limits, decision=decision)
    limits = gate.limits
    if not await gate.queue.take(company_id, limits.max_queued):
        raise queue_full(limits)
    job, sizes = await fresh_admission.insert(
        writer, company_id, assistant_id, body, kind=kind, request_id=request_id
    )
    known.put(company_id, assistant_id, sizes)
    # No limiter call: the dispatcher admits this job against the rates when it hands it out.
    return Admission(job=job, created=True, limits=limits)


def request_hash(assistant_id: str, body: ExecuteRequest) -> str:
    canonical = json.dumps([assistant_id, body.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fetchable(url: str) -> bool:
    """An http(s) url with a host and a valid port: one that providers and workers can use."""
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def validate_attachments(assistant: Assistant, body: ExecuteRequest) -> None:
    for index, attachment in enumerate(body.attachments):
        where = {"field": f"attachments.{index}"}
        if attachment.type != "url":
            raise UnsupportedAttachment(
                f"Attachment type '{attachment.type}' is not supported; use 'url'", details=[where]
            )
        if attachment.mime_type not in IMAGE_TYPES:
            raise UnsupportedAttachment(
                f"mimeType '{attachment.mime_type}' is not supported; use one of {sorted(IMAGE_TYPES)}",
                details=[where],
            )
        if not _fetchable(attachment.url):
            raise UnsupportedAttachment(
                "Attachment urls must be absolute http(s) urls with a host", details=[where]
            )
    if body.attachments:
        model = find_model(assistant.llm_provider, assistant.llm_model)
        if model is None or not model.supports_images:
            raise UnsupportedAttachment(f"Model {assistant.llm_model} does not take images")


async def _validate_tool_results(
    session: AsyncSession, session_id: str, body: ExecuteRequest
) -> None:
    history = await session_messages(session, session_id)
    last = history[-1] if history else None
    pending = (
        {call["id"] for call in (last.content.get("toolCalls") or [])}
        if last and last.role == "assistant"
        else set()
    )
    unknown = [r.tool_call_id for r in body.tool_results if r.tool_call_id not in pending]
    if unknown:
        raise InvalidToolResult(
            f"No pending tool call with id {', '.join(unknown)} in this session",
            details={"toolCallIds": unknown},
        )


async def _replay(
    session: AsyncSession, company_id: str, key: str, fingerprint: str, ttl: timedelta
) -> Job | None:
    await repository.lock_idempotency_key(session, company_id, key)
    earlier = await repository.by_idempotency_key(session, company_id, key)
    if earlier is None:
        return None
    if earlier.created_at < utcnow() - ttl:
        earlier.idempotency_key = None  # expired: the key is free again
        await session.flush()
        return None
    if earlier.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return earlier


async def admit(
    session: AsyncSession,
    company_id: str,
    assistant_id: str,
    body: ExecuteRequest,
    *,
    kind: str,
    idempotency_key: str | None = None,
    idempotency_ttl: timedelta = timedelta(hours=24),
    request_id: str | None = None,
    gate: Gate | None = None,
) -> Admission:
    """Record a job for an execute request (the caller commits, then enqueues)."""
    assistant = await assistants.get(session, company_id, assistant_id)
    validate_attachments(assistant, body)
    fingerprint = request_hash(assistant_id, body)
    if idempotency_key:
        earlier = await _replay(session, company_id, idempotency_key, fingerprint, idempotency_ttl)
        if earlier is not None:
            return Admission(job=earlier, created=False)
    conversation, seq = await sessions.open_for_turn(
        session, company_id, assistant_id, body.session_id
    )
    blocked = await repository.session_has_open_job(session, conversation.id)
    if body.tool_results and not blocked:
        await _validate_tool_results(session, conversation.id, body)
    # The limits come last: a request refused for any other reason must not hold a slot.
    job_id = new_id()
    limits, decision = None, None
    if gate is not None:
        chars = len(assistant.llm_prompt or "") + len(body.user_input or "")
        tokens = estimate_tokens(chars, assistant.max_tokens)
        limits, decision = await _pass_gate(gate, company_id, job_id, kind, tokens)
    job = Job(
        id=job_id,
        company_id=company_id,
        assistant_id=assistant_id,
        session_id=conversation.id,
        session_seq=seq,
        kind=kind,
        status="queued",
        blocked=blocked,
        input=body.model_dump(mode="json", by_alias=True, exclude={"session_id"}),
        prompt_version=assistant.prompt_version,
        provider=assistant.llm_provider,
        model=assistant.llm_model,
        max_tokens=assistant.max_tokens,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        request_id=request_id,
        enqueued_at=None if blocked or kind != "interactive" else utcnow(),
    )
    session.add(job)
    await session.flush()
    return Admission(job=job, created=True, limits=limits, decision=decision)


async def get(session: AsyncSession, company_id: str, job_id: str) -> Job:
    job = await repository.get(session, company_id, job_id)
    if job is None:
        raise JobNotFound()
    return job


async def cancel(
    session: AsyncSession, company_id: str, job_id: str
) -> tuple[Job, tuple[str, str] | None]:
    """Cancel a queued job. Returns the job and the session job it unblocked (id, kind), if any."""
    job = await repository.get(session, company_id, job_id, for_update=True)
    if job is None:
        raise JobNotFound()
    if job.status != "queued":
        raise JobNotCancellable(f"Job is {job.status}; only a queued job can be cancelled")
    was_blocking = not job.blocked
    job.status = "cancelled"
    job.finished_at = utcnow()
    await session.flush()
    released = None
    if was_blocking and job.session_id:
        released = await release_next_in_session(session, job.session_id)
    return job, released


def outcome_of(job: Job) -> Outcome:
    """A finished job's outcome as its row holds it: what a job-done notification carries."""
    return Outcome(
        status=job.status,
        response=job.response,
        tool_calls=job.tool_calls,
        input_tokens=job.input_tokens or 0,
        output_tokens=job.output_tokens or 0,
        error_code=job.error_code,
        error_message=job.error_message,
    )


def result_from(session_id: str | None, outcome: Outcome) -> JobResult:
    inp, out = outcome.input_tokens, outcome.output_tokens
    return JobResult(
        response=outcome.response or "",
        session_id=session_id,
        usage=Usage(input_tokens=inp, output_tokens=out, total_tokens=inp + out),
        tool_calls=[ToolCall.model_validate(call) for call in outcome.tool_calls or []],
    )


def result_of(job: Job) -> JobResult | None:
    if job.status != "succeeded":
        return None
    return result_from(job.session_id, outcome_of(job))


def to_out(job: Job) -> JobOut:
    error = (
        JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None
    )
    return JobOut(
        id=job.id,
        assistant_id=job.assistant_id,
        session_id=job.session_id,
        batch_id=job.batch_id,
        custom_id=job.custom_id,
        kind=job.kind,
        status=JobStatus(job.status),
        attempts=job.attempts,
        prompt_version=job.prompt_version,
        provider=job.provider,
        model=job.model,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=result_of(job),
        error=error,
    )
