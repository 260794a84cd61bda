"""Provider failures: retried 429s, 5xx and timeouts; failing codes; no secrets in messages."""

import itertools

import pytest

from tests.factories import assert_error, create_assistant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import PROVIDERS, execute, unique

pytestmark = pytest.mark.usefixtures("worker")


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_429s_with_retry_after_are_retried_until_success(
    client, tenant, emu, provider, model
):
    assistant = await create_assistant(client, tenant, llmProvider=provider, llmModel=model)
    text = unique("busy provider")
    emu.fault(match=text, status=429, retryAfter=0.3, times=2)

    response = await execute(client, tenant, assistant["id"], userInput=text)

    assert response.status_code == 200, response.text
    assert response.json()["response"] == f"Echo: {text} [turns=1]"
    calls = sorted(emu.requests(contains=text), key=lambda c: c["id"])
    assert [c["status"] for c in calls] == [429, 429, 200]
    gaps = [b["receivedAt"] - a["receivedAt"] for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.28  # the provider's retry-after, not our 50 ms base backoff
    job = (await client.get(f"/api/jobs/{response.json()['jobId']}", headers=tenant.headers)).json()
    assert job["attempts"] == 3


async def test_500s_until_the_attempts_run_out_fail_with_provider_unavailable(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text = unique("broken provider")
    emu.fault(match=text, status=500, times=-1)

    response = await execute(client, tenant, assistant["id"], userInput=text)

    error = assert_error(response, 502, "PROVIDER_UNAVAILABLE")
    assert len(emu.requests(contains=text)) == 3
    job = await wait_for_job(client, tenant.headers, error["details"]["jobId"])
    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert job["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert job["result"] is None


async def test_429s_until_the_attempts_run_out_fail_with_provider_rate_limited(client, tenant, emu):
    assistant = await create_assistant(
        client, tenant, llmProvider="anthropic", llmModel="claude-haiku-4-5"
    )
    text = unique("always limited")
    emu.fault(match=text, status=429, retryAfter=0.1, times=-1)

    response = await execute(client, tenant, assistant["id"], respond_async=True, userInput=text)

    job = await wait_for_job(client, tenant.headers, response.json()["id"])
    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert job["error"]["code"] == "PROVIDER_RATE_LIMITED"
    assert len(emu.requests(contains=text)) == 3


async def test_a_provider_slower_than_the_timeout_fails_with_provider_timeout(client, tenant, emu):
    """Three attempts of the 3 s test timeout: the slowest test of the suite, so only once."""
    assistant = await create_assistant(
        client, tenant, llmProvider="google", llmModel="gemini-2.5-flash"
    )
    text = unique("never answers in time")
    emu.fault(match=text, status=200, delayMs=4000, times=-1)

    response = await execute(client, tenant, assistant["id"], userInput=text)

    error = assert_error(response, 504, "PROVIDER_TIMEOUT")
    assert len(emu.requests(contains=text)) == 3
    job = await wait_for_job(client, tenant.headers, error["details"]["jobId"])
    assert (job["status"], job["attempts"]) == ("failed", 3)


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_a_provider_400_fails_at_once_with_provider_error(
    client, tenant, emu, provider, model
):
    assistant = await create_assistant(client, tenant, llmProvider=provider, llmModel=model)
    text = unique("malformed for the provider")
    emu.fault(match=text, status=400, times=-1, message="Unsupported parameter: frobnicate")

    response = await execute(client, tenant, assistant["id"], userInput=text)

    error = assert_error(response, 502, "PROVIDER_ERROR")
    assert "Unsupported parameter: frobnicate" in error["message"]
    assert len(emu.requests(contains=text)) == 1
    job = (
        await client.get(f"/api/jobs/{error['details']['jobId']}", headers=tenant.headers)
    ).json()
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"]["code"] == "PROVIDER_ERROR"


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_provider_error_messages_carry_no_api_keys(client, tenant, emu, provider, model):
    assistant = await create_assistant(client, tenant, llmProvider=provider, llmModel=model)
    text = unique("leaky error")
    leak = (
        "Incorrect API key provided: sk-abcdef123456XYZ. "
        "Header was Authorization: Bearer tok.en-secret-123; google key AIzaSyA1234567890abcdef"
    )
    emu.fault(match=text, status=401, times=-1, message=leak)

    response = await execute(client, tenant, assistant["id"], userInput=text)

    error = assert_error(response, 502, "PROVIDER_ERROR")
    job = (
        await client.get(f"/api/jobs/{error['details']['jobId']}", headers=tenant.headers)
    ).json()
    for message in (error["message"], job["error"]["message"]):
        assert "Incorrect API key provided" in message
        assert "[redacted]" in message
        for secret in ("sk-abcdef123456", "tok.en-secret-123", "AIzaSyA1234567890abcdef"):
            assert secret not in message


async def test_a_retry_after_beyond_the_ceiling_fails_at_once_instead_of_sleeping(
    client, tenant, emu
):
    assistant = await create_assistant(client, tenant)
    text = unique("come back in an hour")
    emu.fault(match=text, status=429, retryAfter=3600, times=-1)

    response = await execute(client, tenant, assistant["id"], userInput=text)

    error = assert_error(response, 502, "PROVIDER_RATE_LIMITED")
    assert len(emu.requests(contains=text)) == 1
    job = (
        await client.get(f"/api/jobs/{error['details']['jobId']}", headers=tenant.headers)
    ).json()
    assert (job["status"], job["attempts"]) == ("failed", 1)
