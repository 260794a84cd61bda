"""One provider call with our retry policy: exponential backoff with jitter, honouring retry-after.

Each attempt after the first renews the job's lease (and counts the attempt); each wait extends the lease
by its length, so the reaper never mistakes a patient worker for a dead one.
"""

import time
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from shared.config import Settings
from workers import metrics
from workers.providers.base import Provider, ProviderCallError, ProviderReply, ProviderRequest

# A provider asking for a longer pause fails the job instead: a worker thread must not sleep
# for an hour, and the task must end well within the broker's visibility timeout.
LONGEST_RETRY_AFTER_SECONDS = 60.0


class ClaimLost(Exception):
    """Another worker took the job over (or it was finished); this one must stop quietly."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderCallError) and exc.retryable


class _RetryAfterTooLong(stop_base):
    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, ProviderCallError) else None
        return retry_after is not None and retry_after > LONGEST_RETRY_AFTER_SECONDS


def _wait(settings: Settings) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        initial=settings.retry_base_seconds, max=settings.retry_max_seconds
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, ProviderCallError) else None
        return max(backoff(state), retry_after or 0.0)

    return wait


async def _attempt(provider: Provider, request: ProviderRequest) -> tuple[ProviderReply, int]:
    started = time.perf_counter()
    with metrics.provider_call(provider.name, request.model):
        reply = await provider.complete(request)
    metrics.record_tokens(provider.name, request.model, reply)
    return reply, int((time.perf_counter() - started) * 1000)


async def call_provider(
    provider: Provider,
    request: ProviderRequest,
    settings: Settings,
    renew: Callable[[float, bool], Awaitable[bool]],
) -> tuple[ProviderReply, int]:
    """The reply and the latency of the successful attempt in ms. `renew(lease_s, is_attempt)`.

    The first attempt runs bare: building the retry machinery for every call was 3% of a
    worker's CPU in a batch drain (py-spy), and most calls succeed at once. A retryable failure
    enters tenacity, whose first attempt replays that failure, so waits, stops and hooks count
    attempts exactly as if tenacity had made the first call.
    """
    try:
        return await _attempt(provider, request)
    except ProviderCallError as exc:
        if not exc.retryable:
            raise
        first_failure = exc
    lease = settings.job_lease_seconds

    async def before(state: RetryCallState) -> None:
        # The claim itself leased the job and counted the first attempt: one transaction fewer.
        if state.attempt_number > 1 and not await renew(lease, True):
            raise ClaimLost()

    async def before_sleep(state: RetryCallState) -> None:
        sleep = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        metrics.record_retry(provider.name, error, state.attempt_number, sleep)
        if not await renew(lease + sleep, False):
            raise ClaimLost()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.provider_max_attempts) | _RetryAfterTooLong(),
        wait=_wait(settings),
        retry=retry_if_exception(_retryable),
        before=before,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            if attempt.retry_state.attempt_number == 1:
                raise first_failure
            return await _attempt(provider, request)
    raise AssertionError("unreachable: tenacity re-raises the last error")
