"""Execute (synchronous by default, asynchronous on request) and job polling."""

import asyncio
import contextlib
import time
from datetime import timedelta
from functools import partial
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Query, Response
from starlette.concurrency import run_in_threadpool

from api.dependencies import CurrentPrincipal, RequestId, SessionDep, StateDep
from api.errors import error_responses
from api.monitoring.metrics import record_jobs_accepted
from api.state import AppState
from shared import queueing
from shared.assistants.errors import AssistantNotFound
from shared.auth.service import Principal
from shared.db import unit_of_work
from shared.errors import Unauthorized
from shared.ids import new_id
from shared.jobs import fresh_admission, repository, service
from shared.jobs.dispatch import claim_dispatch_trigger
from shared.jobs.errors import (
    IdempotencyKeyReused,
    InvalidToolResult,
    JobCancelled,
    JobNotCancellable,
    JobNotFound,
    ProviderFailed,
    UnsupportedAttachment,
)
from shared.jobs.lifecycle import Outcome
from shared.jobs.schemas import (
    TERMINAL,
    ExecuteRequest,
    ExecuteResponse,
    JobList,
    JobOut,
    JobStatus,
)
from shared.jobs.service import Admission, Gate
from shared.limits.errors import RateLimited, rate_headers
from shared.models import Job
from shared.notifications import publish_job_done
from shared.queueing import push_jobs
from shared.schemas import ErrorResponse, PageMeta
from shared.sessions.errors import SessionConflict

router = APIRouter(tags=["jobs"])
logger = structlog.get_logger(__name__)

_EXECUTE_RESPONSES = {
    **error_responses(
        Unauthorized,
        AssistantNotFound,
        UnsupportedAttachment,
        InvalidToolResult,
        SessionConflict,
        IdempotencyKeyReused,
        JobCancelled,
        RateLimited,
    ),
    202: {"model": JobOut, "description": "Accepted: the job goes on; poll the Location"},
    502: {
        "model": ErrorResponse,
        "description": "PROVIDER_ERROR (or another provider failure code)",
    },
    504: {"model": ErrorResponse, "description": "PROVIDER_TIMEOUT"},
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Replays within 24 h return the same job",
    ),
]
Prefer = Annotated[str | None, Header(description="`respond-async` answers 202 at once")]


async def enqueue(
    state: AppState, jobs: list[tuple[str, str]], admitted_before: float | None = None
) -> None:
    """Send after commit. If the broker is down the job stays queued and the reaper sends it later."""
    try:
        await push_jobs(state.broker, state.celery, state.settings, jobs, admitted_before)
    except Exception as exc:
        logger.warning(
            "enqueue failed; the reaper will retry", error=type(exc).__name__, jobs=len(jobs)
        )


def accepted(job: Job, headers: dict[str, str] | None = None) -> Response:
    return Response(
        service.to_out(job).model_dump_json(by_alias=True),
        status_code=202,
        media_type="application/json",
        headers={**(headers or {}), "Location": f"/api/jobs/{job.id}"},
    )


async def request_dispatch(state: AppState) -> None:
    """Wake the dispatcher (at most one task per 200 ms however many requests arrive).

    A process that asked within the last 100 ms does not ask Redis again: under load that saves a
    round trip per request, and the wake-up it sent covers this job or the next round does.
    """
    now = time.monotonic()
    if now - state.dispatch_requested_at < 0.1:
        return
    state.dispatch_requested_at = now
    try:
        if await claim_dispatch_trigger(state.redis, state.settings):
            await run_in_threadpool(queueing.request_dispatch, state.celery, state.settings)
    except Exception as exc:  # the dispatcher's periodic round picks the job up anyway
        logger.warning("dispatch trigger failed", error=type(exc).__name__)


async def notify_done(state: AppState, job_id: str) -> None:
    """Wake requests waiting for the job; a lost wake-up only makes them wait their full time."""
    try:
        await publish_job_done(state.redis, state.settings, job_id)
    except Exception as exc:
        logger.warning("job-done notification failed", error=type(exc).__name__)


async def release_limits(state: AppState, job: Job) -> None:
    """Free what the limiter reserved for a job that will never run (a no-op if it held nothing)."""
    try:
        await state.limiter.settle(job.company_id, job.id, 0)
    except Exception as exc:  # the reservation expires with its lease anyway
        logger.warning("limiter settle failed", error=type(exc).__name__)


async def _reload(state: AppState, company_id: str, job_id: str) -> Job:
    job = await repository.get_detached(state.engine, company_id, job_id)
    if job is None:
        raise JobNotFound()
    return job


async def _admit(
    state: AppState,
    principal: Principal,
    assistant_id: str,
    body: ExecuteRequest,
    response: Response,
    *,
    kind: str,
    request_id: str | None,
    idempotency_key: str | None,
    message: queueing.QueuedMessage | None = None,
) -> tuple[Admission, dict[str, str]]:
    """The admission (`message`: a new conversation's synchronous job's, sent with it) and its
    `X-RateLimit-*` headers, already set on `response`."""
    separate_broker = None if state.broker is state.redis else state.broker
    gate = Gate(state.limiter, state.queued, principal.limits, separate_broker)
    if fresh_admission.applies(body, idempotency_key):
        admission = await service.admit_fresh(
            state.admissions,
            state.assistant_sizes,
            gate,
            principal.company_id,
            assistant_id,
            body,
            kind=kind,
            request_id=request_id,
            message=message,
        )
    else:
        async with unit_of_work(state.sessionmaker) as session:
            admission = await service.admit(
                session,
                principal.company_id,
                assistant_id,
                body,
                kind=kind,
                idempotency_key=idempotency_key,
                idempotency_ttl=timedelta(hours=state.settings.idempotency_ttl_hours),
                request_id=request_id,
                gate=gate,
            )
    if admission.created:
        record_jobs_accepted(admission.job.kind)
    headers = (
        rate_headers(admission.limits, admission.decision)
        if admission.limits and admission.decision
        else {}
    )
    response.headers.update(headers)
    return admission, headers


@router.post(
    "/api/assistants/{assistant_id}/execute",
    response_model=ExecuteResponse,
    responses=_EXECUTE_RESPONSES,
    tags=["assistants"],
)
async def execute_assistant(
    assistant_id: str,
    body: ExecuteRequest,
    principal: CurrentPrincipal,
    state: StateDep,
    response: Response,
    request_id: RequestId,
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
) -> ExecuteResponse | Response:
    """Run the assistant on the user's input.

    Waits for the answer (200) up to the configured time; with `Prefer: respond-async`, or when
    the answer takes longer, answers 202 with the job and its `Location` to poll. A new session is
    created when `sessionId` is absent or unknown. A synchronous request over the company's limits
    is refused at once (429 `RATE_LIMITED`); an asynchronous one waits its turn instead.
    """
    admit = partial(
        _admit,
        state,
        principal,
        assistant_id,
        body,
        response,
        request_id=request_id,
        idempotency_key=idempotency_key,
    )
    if prefer is not None and "respond-async" in prefer.lower():
        admission, headers = await admit(kind="async")
        job = admission.job
        if admission.created and not job.blocked:
            await request_dispatch(state)
        return accepted(job, headers)
    admitted_before = time.time()  # before the limiter stamps the job (see `push_jobs`)
    outcome: Outcome | None = None
    if fresh_admission.applies(body, idempotency_key):
        # The job's message leaves with its admission: the wake-up is awaited from before it.
        message = queueing.execute_message(
            state.celery, state.settings, new_id(), "interactive", admitted_before
        )
        async with state.waiter.waiting(message.job_id) as done:
            admission, headers = await admit(kind="interactive", message=message)
            job = admission.job
            with contextlib.suppress(TimeoutError):
                outcome = await asyncio.wait_for(done, timeout=state.settings.sync_wait_seconds)
    else:
        admission, headers = await admit(kind="interactive")
        job = admission.job
        async with state.waiter.waiting(job.id) as done:
            if admission.should_enqueue:  # admitted by the limiter in this request
                await enqueue(state, [(job.id, job.kind)], admitted_before)
            if job.status not in TERMINAL:
                with contextlib.suppress(TimeoutError):
                    outcome = await asyncio.wait_for(done, timeout=state.settings.sync_wait_seconds)
    if outcome is None:  # no notification in time, or one without the outcome: read the job
        job = await _reload(state, principal.company_id, job.id)
        if job.status == JobStatus.cancelled:
            raise JobCancelled(job.id)
        if job.status not in TERMINAL:
            return accepted(job, headers)
        outcome = service.outcome_of(job)
    if outcome.status == JobStatus.failed:
        raise ProviderFailed(
            outcome.error_code or "PROVIDER_ERROR",
            outcome.error_message or "The provider failed",
            job.id,
        )
    return ExecuteResponse(
        **service.result_from(job.session_id, outcome).model_dump(), job_id=job.id
    )


@router.get(
    "/api/jobs/{job_id}",
    response_model=JobOut,
    responses=error_responses(Unauthorized, JobNotFound),
)
async def get_job(job_id: str, principal: CurrentPrincipal, session: SessionDep) -> JobOut:
    """A job's status, attempts, timestamps and its result or error."""
    return service.to_out(await service.get(session, principal.company_id, job_id))


@router.get("/api/jobs", response_model=JobList, responses=error_responses(Unauthorized))
async def list_jobs(
    principal: CurrentPrincipal,
    session: SessionDep,
    assistant_id: Annotated[str | None, Query(alias="assistantId", max_length=24)] = None,
    status: Annotated[JobStatus | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobList:
    """The company's jobs, newest first, optionally for one assistant and in one status."""
    rows, total = await repository.list_page(
        session,
        principal.company_id,
        assistant_id=assistant_id,
        status=status.value if status else None,
        offset=(page - 1) * limit,
        limit=limit,
    )
    return JobList(
        data=[service.to_out(row) for row in rows],
        meta=PageMeta(page=page, limit=limit, total=total),
    )


@router.post(
    "/api/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=error_responses(Unauthorized, JobNotFound, JobNotCancellable),
)
async def cancel_job(job_id: str, principal: CurrentPrincipal, state: StateDep) -> JobOut:
    """Cancel a queued job: it will never reach a provider. Running or finished jobs answer 409.

    A synchronous execute waiting for the job answers 409 `JOB_CANCELLED` at once.
    """
    async with unit_of_work(state.sessionmaker) as session:
        job, released = await service.cancel(session, principal.company_id, job_id)
    await enqueue(state, [released] if released else [])
    await notify_done(state, job.id)
    await release_limits(state, job)
    return service.to_out(job)
