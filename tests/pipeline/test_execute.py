"""Execute through the real pipeline: API -> PostgreSQL + Redis -> Celery worker -> SDK -> emulator."""

import asyncio

import pytest
from redis.asyncio import Redis

from shared.config import get_settings
from shared.limits.limiter import Limiter
from shared.limits.schemas import Limits
from shared.notifications import INLINE_OUTCOME_MAX_BYTES
from tests.factories import create_assistant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import PROVIDERS

pytestmark = pytest.mark.usefixtures("worker")


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_sync_execute_answers_with_the_providers_reply_and_usage(
    client, tenant, emu, provider, model
):
    assistant = await create_assistant(
        client,
        tenant,
        llmProvider=provider,
        llmModel=model,
        llmPrompt=f"Prompt for {provider}",
        maxTokens=321,
    )
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "Hello, I need help with my order"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"response", "sessionId", "usage", "toolCalls", "jobId"}
    assert body["response"] == "Echo: Hello, I need help with my order [turns=1]"
    assert body["toolCalls"] == []
    [call] = emu.requests(contains="Hello, I need help with my order")
    assert call["apiKey"] == "ated"  # the last four characters of the emulated key "emulated"
    assert call["model"] == model
    assert f"Prompt for {provider}" in str(call["body"])
    assert call["maxTokens"] == 321
    assert body["usage"] == {
        "inputTokens": call["inputTokens"],
        "outputTokens": call["outputTokens"],
        "totalTokens": call["inputTokens"] + call["outputTokens"],
    }
    job = (await client.get(f"/api/jobs/{body['jobId']}", headers=tenant.headers)).json()
    assert job["status"] == "succeeded"
    assert job["attempts"] == 1
    assert job["result"]["response"] == body["response"]


async def test_a_reply_too_large_for_the_notification_is_read_from_the_job(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text = " ".join(["long"] * (INLINE_OUTCOME_MAX_BYTES // 5 + 100))
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": text},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["response"]) > INLINE_OUTCOME_MAX_BYTES
    assert body["response"] == f"Echo: {text} [turns=1]"
    assert body["usage"]["outputTokens"] > 0


async def test_a_redis_that_lost_its_scripts_still_gets_the_call_settled(client, tenant, emu):
    """The worker settles the limiter in the pipeline that sends the wake-up, by the script's
    sha; after a Redis restart (scripts gone) it settles again, loading the script."""
    assistant = await create_assistant(client, tenant)
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.script_flush()
        response = await client.post(
            f"/api/assistants/{assistant['id']}/execute",
            json={"userInput": "after a flush"},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        limits = Limits(rpm=1_000, tpm=1_000_000, concurrency=100, max_queued=100)
        limiter = Limiter(redis, settings)
        # The wake-up went out in the failed pipeline: the second settlement may come just after.
        for _ in range(50):
            state = await limiter.acquire(tenant.company_id, limits, "probe", 0, dry_run=True)
            if state.running == 0:
                break
            await asyncio.sleep(0.1)
        assert state.running == 0  # the slot is free
        assert (
            state.tokens == response.json()["usage"]["totalTokens"]
        )  # real tokens, not the estimate
    finally:
        await redis.aclose()


async def test_async_execute_answers_202_with_location_and_the_job_finishes(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "async please"},
        headers={**tenant.headers, "Prefer": "respond-async"},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    done = await wait_for_job(client, tenant.headers, job["id"])
    assert done["status"] == "succeeded"
    assert done["result"]["response"] == "Echo: async please [turns=1]"
    assert done["startedAt"] and done["finishedAt"]


async def test_sync_execute_that_outlasts_the_wait_answers_202(
    client, tenant, emu, app, monkeypatch
):
    assistant = await create_assistant(client, tenant)
    emu.fault(match="slow answer", status=200, delayMs=1500, times=1)
    monkeypatch.setattr(app.state.resources.settings, "sync_wait_seconds", 0.3)
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "slow answer"},
        headers=tenant.headers,
    )
    assert response.status_code == 202
    done = await wait_for_job(client, tenant.headers, response.json()["id"])
    assert done["status"] == "succeeded"


async def test_execute_of_unknown_assistant_is_404(client, tenant):
    response = await client.post(
        "/api/assistants/ffffffffffffffffffffffff/execute",
        json={"userInput": "hi"},
        headers=tenant.headers,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ASSISTANT_NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"userInput": ""},
        {"userInput": "x" * 100_001},
        {"userInput": "hi", "unknown": 1},
        {"userInput": 5},
    ],
)
async def test_execute_with_bad_input_is_400_and_creates_no_job(client, tenant, body):
    assistant = await create_assistant(client, tenant)
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute", json=body, headers=tenant.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 0
