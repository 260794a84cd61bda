"""The retry policy around one provider call, with a scripted provider (no processes)."""

from dataclasses import dataclass, field

import pytest

from shared.config import get_settings
from workers.jobs.calls import LONGEST_RETRY_AFTER_SECONDS, ClaimLost, call_provider
from workers.providers.base import ProviderCallError, ProviderReply, ProviderRequest

REQUEST = ProviderRequest(model="m", system=None, turns=[], max_tokens=10)
REPLY = ProviderReply(text="ok", tool_calls=[], input_tokens=1, output_tokens=1)


@dataclass
class Scripted:
    """Raises the scripted errors in turn, then answers."""

    errors: list[ProviderCallError]
    calls: int = 0
    name: str = "scripted"
    needs_image_bytes: bool = False

    async def complete(self, request: ProviderRequest) -> ProviderReply:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return REPLY


@dataclass
class Renewals:
    answer: bool = True
    seen: list[tuple[float, bool]] = field(default_factory=list)

    async def __call__(self, lease: float, attempt: bool) -> bool:
        self.seen.append((lease, attempt))
        return self.answer


def limited(retry_after: float | None = None) -> ProviderCallError:
    return ProviderCallError(
        "PROVIDER_RATE_LIMITED", "slow down", retryable=True, retry_after=retry_after
    )


async def test_retryable_errors_are_retried_and_each_attempt_renews_the_lease():
    settings = get_settings()
    provider, renew = Scripted([limited(0.05), limited(0.05)]), Renewals()
    reply, latency = await call_provider(provider, REQUEST, settings, renew)
    assert (reply, provider.calls) == (REPLY, 3)
    assert [attempt for _, attempt in renew.seen] == [False, True, False, True]
    waits = [lease - settings.job_lease_seconds for lease, attempt in renew.seen if not attempt]
    assert all(wait >= 0.05 for wait in waits)  # the lease covers the pause
    assert latency >= 0


async def test_a_non_retryable_error_is_raised_at_once():
    error = ProviderCallError("PROVIDER_ERROR", "bad request", retryable=False)
    provider = Scripted([error])
    with pytest.raises(ProviderCallError) as raised:
        await call_provider(provider, REQUEST, get_settings(), Renewals())
    assert raised.value is error and provider.calls == 1


async def test_attempts_stop_at_the_configured_number():
    settings = get_settings()
    provider = Scripted([limited() for _ in range(10)])
    with pytest.raises(ProviderCallError):
        await call_provider(provider, REQUEST, settings, Renewals())
    assert provider.calls == settings.provider_max_attempts


async def test_a_retry_after_longer_than_the_ceiling_fails_instead_of_sleeping():
    provider = Scripted([limited(LONGEST_RETRY_AFTER_SECONDS + 1)])
    with pytest.raises(ProviderCallError) as raised:
        await call_provider(provider, REQUEST, get_settings(), Renewals())
    assert raised.value.code == "PROVIDER_RATE_LIMITED" and provider.calls == 1


async def test_a_lost_claim_stops_the_retries():
    provider = Scripted([limited(0.01), limited(0.01)])
    with pytest.raises(ClaimLost):
        await call_provider(provider, REQUEST, get_settings(), Renewals(answer=False))
    assert provider.calls == 1
