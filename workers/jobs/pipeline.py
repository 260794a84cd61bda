"""Running one job: claim, build the request, call the provider, write the outcome.

No database connection is held while the provider works: the claim and the outcome are two
short transactions, and lease renewals are one-statement transactions of their own.
"""

import asyncio
import contextlib
from collections import defaultdict
from datetime import timedelta
from typing import Any

import structlog
from redis.exceptions import NoScriptError

from shared.db import unit_of_work
from shared.jobs import lifecycle
from shared.jobs.dispatch import wake_dispatcher
from shared.jobs.lifecycle import Claim, Finished, Outcome
from shared.notifications import queue_jobs_done
from workers import metrics
from workers.jobs.attachments import fetch_image
from workers.jobs.calls import ClaimLost, call_provider
from workers.jobs.capacity import Room
from workers.jobs.conversation import build_request
from workers.providers.base import Provider, ProviderCallError, ProviderRequest
from workers.runtime import Runtime

FollowUps = list[tuple[str, str]]  # (job id, kind) to enqueue after the outcome is committed
DISPATCH_REQUEST = ("", "dispatch")  # a follow-up that asks for a dispatcher round
# A synchronous job's message leaves the API with its admission, before the job's row is
# committed (`shared.jobs.service.admit_fresh`). A claim that finds no row waits for it this long,
# looking again after 0.5 ms, then twice as long each time up to the cap; then drops the message
# (the request failed; or its insert took longer still, and the reaper sends the job again).
UNWRITTEN_JOB_WAIT_SECONDS = 5.0
UNWRITTEN_JOB_FIRST_PAUSE_SECONDS = 0.0005
UNWRITTEN_JOB_MAX_PAUSE_SECONDS = 0.05
log = structlog.get_logger()


async def _images(rt: Runtime, claim: Claim, provider: Provider) -> list[dict[str, Any]]:
    images = [
        {"url": a["url"], "mimeType": a["mimeType"]}
        for a in claim.job.input.get("attachments") or []
    ]
    if provider.needs_image_bytes:
        for image in images:
            image["data"] = await fetch_image(rt.http, image["url"], rt.settings)
    return images


Ready = tuple[Provider, ProviderRequest]  # what a call needs, built before the limiter's check


async def _prepare(rt: Runtime, claim: Claim) -> Ready | Outcome:
    """The provider and the request (attachments fetched), or the outcome of a job that can't
    be called."""
    structlog.contextvars.bind_contextvars(job_id=claim.job.id, request_id=claim.job.request_id)
    provider = rt.providers.get(claim.job.provider)
    if provider is None:
        return Outcome(
            status="failed",
            error_code="PROVIDER_NOT_CONFIGURED",
            error_message=f"No API key is configured for {claim.job.provider}",
        )
    try:
        return provider, build_request(claim, await _images(rt, claim, provider))
    except ProviderCallError as exc:
        return Outcome(status="failed", error_code=exc.code, error_message=exc.message)


async def _call(rt: Runtime, claim: Claim, ready: Ready) -> Outcome | None:
    """The provider call with its retries; None when the claim was lost to another worker.
    Each call runs in its own task, with the job's log fields bound."""
    job = claim.job
    structlog.contextvars.bind_contextvars(job_id=job.id, request_id=job.request_id)

    async def renew(lease_seconds: float, attempt: bool) -> bool:
        async with unit_of_work(rt.sessionmaker) as session:
            return await lifecycle.renew(
                session, job.id, claim.token, timedelta(seconds=lease_seconds), attempt=attempt
            )

    provider, request = ready
    try:
        reply, latency_ms = await call_provider(provider, request, rt.settings, renew)
    except ProviderCallError as exc:
        return Outcome(status="failed", error_code=exc.code, error_message=exc.message)
    except ClaimLost:
        return None
    return Outcome(
        status="succeeded",
        response=reply.text,
        tool_calls=reply.tool_calls,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        latency_ms=latency_ms,
    )


async def _hand_back_lapsed(rt: Runtime, claims: list[Claim]) -> tuple[set[str], FollowUps]:
    """Re-stamp the jobs about to be called in the limiter (one call per company); jobs whose
    admission lapsed go back to the dispatcher. Returns their ids (none of them may be called,
    even one whose claim another worker took meanwhile) and a dispatch request."""
    by_company: dict[str, list[str]] = defaultdict(list)
    for claim in claims:
        by_company[claim.job.company_id].append(claim.job.id)
    lapsed: dict[str, list[str]] = {}
    for company_id, job_ids in by_company.items():
        if lost := await rt.limiter.restamp_many(company_id, job_ids):
            lapsed[company_id] = lost
    if not lapsed:
        return set(), []
    async with unit_of_work(rt.sessionmaker) as session:
        handed = set(
            await lifecycle.hand_back(
                session, [job_id for ids in lapsed.values() for job_id in ids], claims[0].token
            )
        )
    for company_id, job_ids in lapsed.items():  # their concurrency slots are free again
        ours = [(job_id, 0) for job_id in job_ids if job_id in handed]
        await rt.limiter.settle_many(company_id, ours)
    log.info("limiter admission lapsed; handed back to the dispatcher", jobs=len(handed))
    follow_ups = [DISPATCH_REQUEST] if await wake_dispatcher(rt.redis, rt.settings) else []
    return {job_id for ids in lapsed.values() for job_id in ids}, follow_ups


async def _after(rt: Runtime, written: list[tuple[Claim, Outcome, Finished]]) -> FollowUps:
    """Once the outcomes are committed: the limiter's settlement (one call per company) and
    wake-ups (one round trip), then metrics and log lines (not on a waiting caller's path), the
    sessions' next turns and a dispatcher round."""
    settle: dict[str, list[tuple[str, int]]] = defaultdict(list)
    follow_ups: FollowUps = []
    for claim, outcome, finished in written:
        job = claim.job
        settle[job.company_id].append((job.id, outcome.input_tokens + outcome.output_tokens))
        if finished.released:
            follow_ups.append(finished.released)
    # Nobody waits on a batch item synchronously.
    done = [(claim.job.id, outcome) for claim, outcome, _ in written if claim.job.kind != "batch"]
    # Settlements before wake-ups, in one round trip: a woken client's next request must find
    # its concurrency slot free.
    try:
        async with rt.redis.pipeline(transaction=False) as pipe:
            for company_id, settled in settle.items():
                rt.limiter.queue_settle(pipe, company_id, settled)
            queue_jobs_done(pipe, rt.settings, done)
            try:
                await pipe.execute()
            except NoScriptError:  # Redis restarted and lost the script: settle again, loading it
                for company_id, settled in settle.items():
                    await rt.limiter.settle_many(company_id, settled)
    finally:  # counted once the outcome is committed, whatever Redis did
        for claim, outcome, _ in written:
            metrics.record_job_finished(claim.job, outcome)
    jobs = [claim.job for claim, _, _ in written]
    dispatched = any(job.kind != "interactive" for job in jobs)
    if dispatched and await wake_dispatcher(rt.redis, rt.settings):  # slots freed: use them
        follow_ups.append(DISPATCH_REQUEST)
    return follow_ups


class _Outcomes:
    """A part's outcomes, written as its calls finish (group commit): what finishes while one
    write runs goes into the next. One slow call holds back no other job's result, nor the
    limiter slot and dispatcher round that its write frees; calls that finish together share a
    transaction.

    A write waits up to `WORKER_OUTCOME_LINGER_SECONDS` for the part's calls still running: without
    that, a part's first reply was written alone and the rest in a second transaction (a bench
    drain at 0 ms provider latency: 510 of 840 outcome writes were of one job).
    """

    def __init__(self, rt: Runtime, reports: int) -> None:
        self._rt = rt
        self._waiting: list[tuple[Claim, Outcome]] = []
        self._writing = asyncio.Lock()
        self._reports_left = reports  # calls (and the failed-before-calling group) to hear from
        self._all_reported = asyncio.Event()
        self.follow_ups: FollowUps = []

    async def add(self, *outcomes: tuple[Claim, Outcome]) -> None:
        """One report: a call's outcome, the outcomes of jobs that failed before calling, or
        nothing (a claim lost to another worker)."""
        self._waiting.extend(outcomes)
        self._reports_left -= 1
        if self._reports_left <= 0:
            self._all_reported.set()
        async with self._writing:
            if not self._waiting:  # the write before this one took them
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._rt.settings.worker_outcome_linger_seconds):
                    await self._all_reported.wait()
            group, self._waiting = self._waiting, []
            written = await lifecycle.write_outcomes(self._rt.job_pool, self._rt.engine, group)
            self.follow_ups += await _after(self._rt, written)


async def execute_chunk(
    rt: Runtime, job_ids: list[str], *, urgent: bool = False, admitted_before: float | None = None
) -> FollowUps:
    """Run jobs: one claim per part (usually the whole chunk), calls in parallel, outcomes written
    as they finish.

    Asynchronous jobs and batch items come in chunks (the dispatcher's), an interactive job alone;
    chunks amortise Celery's per-task cost and the per-job database round trips alike. The
    limiter's stamps are checked once the requests are built, right before the calls. A failed
    outcome write leaves its jobs leased, and the reaper re-runs them. The chunk first waits for
    room among the process's provider calls (`capacity`; an `urgent` interactive job waits
    ahead of every chunk), and runs in parts as room appears, each part claimed once it may
    call; the room is given back call by call. `admitted_before`: see `Limiter.restamp_may_change`.
    """
    parts: list[asyncio.Task[FollowUps]] = []
    rest = list(job_ids)
    while rest:
        room = await rt.capacity.take(len(rest), urgent=urgent)
        part, rest = rest[: room.held], rest[room.held :]
        parts.append(asyncio.create_task(_execute(rt, part, room, admitted_before)))
    results = await asyncio.gather(*parts, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:  # every part ran to its end first
        raise errors[0]
    return [follow_up for result in results if isinstance(result, list) for follow_up in result]


async def _claim_once_written(rt: Runtime, job_id: str, lease: timedelta) -> list[Claim]:
    """The claim of a job whose message came with its admission, once its row is committed;
    none if the row is there but not claimable (taken, cancelled) or never came."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + UNWRITTEN_JOB_WAIT_SECONDS
    pause = UNWRITTEN_JOB_FIRST_PAUSE_SECONDS
    while True:
        async with rt.job_pool.acquire() as connection:
            if await lifecycle.job_exists(connection, job_id):
                claims = await lifecycle.claim_many(connection, [job_id], lease)
                metrics.record_unwritten_job_wait("claimed" if claims else "not_claimable", job_id)
                return claims
        if loop.time() >= deadline:
            metrics.record_unwritten_job_wait("dropped", job_id)
            return []
        await asyncio.sleep(pause)
        pause = min(pause * 2, UNWRITTEN_JOB_MAX_PAUSE_SECONDS)


async def _execute(
    rt: Runtime, job_ids: list[str], room: Room, admitted_before: float | None
) -> FollowUps:
    try:
        return await _execute_part(rt, job_ids, room, admitted_before)
    finally:
        room.release_all()


async def _execute_part(
    rt: Runtime, job_ids: list[str], room: Room, admitted_before: float | None
) -> FollowUps:
    lease = timedelta(seconds=rt.settings.job_lease_seconds)
    async with rt.job_pool.acquire() as connection:  # one statement: no BEGIN, no COMMIT
        claims = await lifecycle.claim_many(connection, job_ids, lease)
    if not claims and admitted_before is not None:  # maybe sent before its row was written
        claims = await _claim_once_written(rt, job_ids[0], lease)
    if not claims:  # finished, cancelled, gone, blocked, or running elsewhere: nothing to do
        return []
    prepared = await asyncio.gather(*(_prepare(rt, claim) for claim in claims))
    failed = [(c, p) for c, p in zip(claims, prepared, strict=True) if isinstance(p, Outcome)]
    ready = [(c, p) for c, p in zip(claims, prepared, strict=True) if not isinstance(p, Outcome)]
    lapsed: set[str] = set()
    follow_ups: FollowUps = []
    if rt.limiter.restamp_may_change(admitted_before):
        lapsed, follow_ups = await _hand_back_lapsed(rt, [claim for claim, _ in ready])
    calling = [(claim, r) for claim, r in ready if claim.job.id not in lapsed]
    room.keep(len(calling))  # jobs gone, failed before calling or handed back call nothing
    outcomes = _Outcomes(rt, reports=len(calling) + (1 if failed else 0))

    async def call(claim: Claim, request: Ready) -> None:
        try:
            outcome = await _call(rt, claim, request)
        finally:
            room.release_one()  # the provider is done: the next waiting chunk may start
        await outcomes.add(*([(claim, outcome)] if outcome is not None else []))

    calls = [call(claim, r) for claim, r in calling]
    if failed:
        calls.append(outcomes.add(*failed))
    errors = [e for e in await asyncio.gather(*calls, return_exceptions=True) if e is not None]
    if errors:  # every call ran to its end first: no orphaned task writes after we return
        raise errors[0]
    return follow_ups + outcomes.follow_ups
