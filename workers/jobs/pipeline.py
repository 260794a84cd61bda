"""Running one job: claim, build the request, call the provider, write the outcome.

No database connection is held while the provider works: the claim and the outcome are two
short transactions, and lease renewals are one-statement transactions of their own.
"""

import asyncio
from datetime import timedelta
from typing import Any

import structlog

from shared.db import unit_of_work
from shared.jobs import lifecycle
from shared.jobs.dispatch import claim_dispatch_trigger
from shared.jobs.lifecycle import Claim, Outcome
from shared.notifications import publish_job_done
from workers import metrics
from workers.jobs.attachments import fetch_image
from workers.jobs.calls import ClaimLost, call_provider
from workers.jobs.conversation import build_request
from workers.providers.base import Provider, ProviderCallError
from workers.runtime import Runtime

FollowUps = list[tuple[str, str]]  # (job id, kind) to enqueue after the outcome is committed
DISPATCH_REQUEST = ("", "dispatch")  # a follow-up that asks for a dispatcher round


async def _images(rt: Runtime, claim: Claim, provider: Provider) -> list[dict[str, Any]]:
    images = [
        {"url": a["url"], "mimeType": a["mimeType"]}
        for a in claim.job.input.get("attachments") or []
    ]
    if provider.needs_image_bytes:
        for image in images:
            image["data"] = await fetch_image(rt.http, image["url"], rt.settings)
    return images


async def _attempt(rt: Runtime, claim: Claim) -> Outcome:
    job = claim.job
    provider = rt.providers.get(job.provider)
    if provider is None:
        return Outcome(
            status="failed",
            error_code="PROVIDER_NOT_CONFIGURED",
            error_message=f"No API key is configured for {job.provider}",
        )

    async def renew(lease_seconds: float, attempt: bool) -> bool:
        async with unit_of_work(rt.sessionmaker) as session:
            return await lifecycle.renew(
                session, job.id, claim.token, timedelta(seconds=lease_seconds), attempt=attempt
            )

    try:
        request = build_request(claim, await _images(rt, claim, provider))
        reply, latency_ms = await call_provider(provider, request, rt.settings, renew)
    except ProviderCallError as exc:
        return Outcome(status="failed", error_code=exc.code, error_message=exc.message)
    return Outcome(
        status="succeeded",
        response=reply.text,
        tool_calls=reply.tool_calls,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        latency_ms=latency_ms,
    )


async def _after(
    rt: Runtime, claim: Claim, outcome: Outcome, released: tuple[str, str] | None
) -> FollowUps:
    """Once the outcome is committed: metrics, the limiter's settlement, wake-ups, follow-ups."""
    job = claim.job
    metrics.record_job_finished(job, outcome)
    await rt.limiter.settle(job.company_id, job.id, outcome.input_tokens + outcome.output_tokens)
    if job.kind != "batch":  # nobody waits on a batch item synchronously
        await publish_job_done(rt.redis, rt.settings, job.id)
    follow_ups = [released] if released else []
    if job.kind != "interactive" and await claim_dispatch_trigger(rt.redis, rt.settings):
        follow_ups.append(DISPATCH_REQUEST)  # a slot freed up: let the dispatcher use it
    return follow_ups


async def _attempt_in_context(rt: Runtime, claim: Claim) -> Outcome | None:
    """The provider call with the job's log fields bound (each call runs in its own task)."""
    structlog.contextvars.bind_contextvars(job_id=claim.job.id, request_id=claim.job.request_id)
    try:
        return await _attempt(rt, claim)
    except ClaimLost:
        return None


async def execute_job(rt: Runtime, job_id: str) -> FollowUps:
    lease = timedelta(seconds=rt.settings.job_lease_seconds)
    async with unit_of_work(rt.sessionmaker) as session:
        claim = await lifecycle.claim(session, job_id, lease)
    if claim is None:  # finished, cancelled, gone, blocked, or running elsewhere: nothing to do
        return []
    outcome = await asyncio.create_task(_attempt_in_context(rt, claim))
    if outcome is None:
        return []
    async with unit_of_work(rt.sessionmaker) as session:
        finished = await lifecycle.finish(session, job_id, claim.token, outcome)
    if finished is None:
        return []
    return await _after(rt, claim, outcome, finished.released)


async def execute_chunk(rt: Runtime, job_ids: list[str]) -> FollowUps:
    """Batch items: one claim and one outcome transaction for the whole chunk, calls in parallel.

    This amortises the per-job database round trips the way chunks amortise Celery's per-task
    cost; a failure of the outcome transaction leaves the chunk leased, and the reaper re-runs it.
    """
    lease = timedelta(seconds=rt.settings.job_lease_seconds)
    async with unit_of_work(rt.sessionmaker) as session:
        claims = await lifecycle.claim_many(session, job_ids, lease)
    outcomes = await asyncio.gather(*(_attempt_in_context(rt, claim) for claim in claims))
    done = [(claim, outcome) for claim, outcome in zip(claims, outcomes, strict=True) if outcome]
    if not done:
        return []
    async with unit_of_work(rt.sessionmaker) as session:
        written = await lifecycle.finish_many(session, done)
    follow_ups: FollowUps = []
    for claim, outcome, finished in written:
        follow_ups += await _after(rt, claim, outcome, finished.released)
    return follow_ups
