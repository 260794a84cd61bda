"""Running one job: claim, build the request, call the provider, write the outcome.

No database connection is held while the provider works: the claim and the outcome are two
short transactions, and lease renewals are one-statement transactions of their own.
"""

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


async def execute_job(rt: Runtime, job_id: str) -> FollowUps:
    lease = timedelta(seconds=rt.settings.job_lease_seconds)
    # Log fields for this job, with the request id of the API call that created it. Callers run
    # each job in an asyncio task of its own, so the fields do not leak between jobs.
    structlog.contextvars.unbind_contextvars("request_id")
    structlog.contextvars.bind_contextvars(job_id=job_id)
    async with unit_of_work(rt.sessionmaker) as session:
        claim = await lifecycle.claim(session, job_id, lease)
    if claim is None:  # finished, cancelled, gone, blocked, or running elsewhere: nothing to do
        return []
    structlog.contextvars.bind_contextvars(request_id=claim.job.request_id)
    try:
        outcome = await _attempt(rt, claim)
    except ClaimLost:
        return []
    async with unit_of_work(rt.sessionmaker) as session:
        finished = await lifecycle.finish(session, job_id, claim.token, outcome)
    if finished is None:
        return []
    metrics.record_job_finished(claim.job, outcome)
    await rt.limiter.settle(
        claim.job.company_id, job_id, outcome.input_tokens + outcome.output_tokens
    )
    await publish_job_done(rt.redis, rt.settings, job_id)
    follow_ups = [finished.released] if finished.released else []
    if claim.job.kind != "interactive" and await claim_dispatch_trigger(rt.redis, rt.settings):
        follow_ups.append(DISPATCH_REQUEST)  # a slot freed up: let the dispatcher use it
    return follow_ups
