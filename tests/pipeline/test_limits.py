"""Per-company limits enforced across processes, measured from the emulator's own record.

The test environment shrinks the limiter's minute to 5 s (LIMIT_WINDOW_SECONDS), so "per minute"
below means "per 5-second window"; the algorithm is the same. Tolerance: none (0 requests).
"""

import asyncio
import time

import pytest

from tests import processes
from tests.factories import create_assistant, new_tenant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.limits_helpers import limit_company, most_in_any_window

pytestmark = pytest.mark.usefixtures("worker")
WINDOW = 5.0


@pytest.fixture
def second_worker(worker):  # type: ignore[no-untyped-def]
    process = processes.worker("second").start()
    yield process
    process.stop()


async def _submit(client, tenant, assistant_id: str, texts: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for text in texts:
        response = await client.post(
            f"/api/assistants/{assistant_id}/execute",
            json={"userInput": text},
            headers={**tenant.headers, "Prefer": "respond-async"},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def test_requests_per_minute_hold_in_every_window_across_two_workers(
    client, emu, second_worker
):
    tenant = await new_tenant("rpm")
    await limit_company(tenant.company_id, rpm=8)
    assistant = await create_assistant(client, tenant)
    ids = await _submit(client, tenant, assistant["id"], [f"rpm-check {i}" for i in range(20)])
    for job_id in ids:
        assert (await wait_for_job(client, tenant.headers, job_id, within=40))[
            "status"
        ] == "succeeded"
    calls = emu.requests(contains="rpm-check")
    assert len(calls) == 20
    assert most_in_any_window(calls, WINDOW) <= 8
    span = max(c["receivedAt"] for c in calls) - min(c["receivedAt"] for c in calls)
    assert span >= 2 * WINDOW  # 20 jobs at 8 per window need at least three windows


async def test_tokens_per_minute_hold_in_every_window(client, emu):
    tenant = await new_tenant("tpm")
    await limit_company(tenant.company_id, tpm=600)
    assistant = await create_assistant(client, tenant, maxTokens=150, llmPrompt="Short")
    ids = await _submit(client, tenant, assistant["id"], [f"tpm-check {i}" for i in range(10)])
    for job_id in ids:
        assert (await wait_for_job(client, tenant.headers, job_id, within=60))[
            "status"
        ] == "succeeded"
    calls = emu.requests(contains="tpm-check")
    assert len(calls) == 10
    assert most_in_any_window(calls, WINDOW, weight="tokens") <= 600


async def test_concurrency_cap_holds(client, emu):
    tenant = await new_tenant("concurrency")
    await limit_company(tenant.company_id, concurrency=2)
    assistant = await create_assistant(client, tenant)
    emu.fault(match="conc-check", status=200, delayMs=400, times=-1)
    ids = await _submit(client, tenant, assistant["id"], [f"conc-check {i}" for i in range(6)])
    for job_id in ids:
        assert (await wait_for_job(client, tenant.headers, job_id, within=30))[
            "status"
        ] == "succeeded"
    starts = sorted(c["receivedAt"] for c in emu.requests(contains="conc-check"))
    # Each call lasts 400 ms; three calls starting within 350 ms would mean three at once.
    assert all(starts[i + 2] - starts[i] >= 0.35 for i in range(len(starts) - 2))


async def test_interactive_over_the_limit_is_refused_at_once_with_headers_and_no_job(client, emu):
    tenant = await new_tenant("interactive-limit")
    await limit_company(tenant.company_id, rpm=2)
    assistant = await create_assistant(client, tenant)
    url = f"/api/assistants/{assistant['id']}/execute"
    for i in range(2):
        ok = await client.post(url, json={"userInput": f"ok {i}"}, headers=tenant.headers)
        assert ok.status_code == 200
        assert ok.headers["X-RateLimit-Limit"] == "2"
        assert ok.headers["X-RateLimit-Remaining"] == str(1 - i)
    started = time.monotonic()
    refused = await client.post(url, json={"userInput": "one too many"}, headers=tenant.headers)
    assert time.monotonic() - started < 1
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert "requests per minute" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 6
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 2
    assert emu.requests(contains="one too many") == []
    metrics = (await client.get("/metrics")).text
    assert 'assistants_rate_limited_total{limit="requests per minute"}' in metrics


async def test_async_jobs_over_the_queue_cap_are_refused_saying_which_limit(client, emu):
    tenant = await new_tenant("queue-cap")
    await limit_company(tenant.company_id, max_queued=2, rpm=1)
    assistant = await create_assistant(client, tenant)
    [first] = await _submit(client, tenant, assistant["id"], ["cap a"])
    assert (await wait_for_job(client, tenant.headers, first))["status"] == "succeeded"
    await _submit(
        client, tenant, assistant["id"], ["cap b", "cap c"]
    )  # the minute's one request is spent
    over = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "cap d"},
        headers={**tenant.headers, "Prefer": "respond-async"},
    )
    assert over.status_code == 429
    assert "queued jobs" in over.json()["error"]["message"]


async def test_limits_endpoint_shows_limits_and_what_remains(client, emu):
    tenant = await new_tenant("limits-endpoint")
    await limit_company(tenant.company_id, rpm=5, tpm=10_000, concurrency=3, max_queued=7)
    assistant = await create_assistant(client, tenant, maxTokens=100)
    await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "count me"},
        headers=tenant.headers,
    )
    body = (await client.get("/api/limits", headers=tenant.headers)).json()
    assert body["requestsPerMinute"] == {"limit": 5, "remaining": 4}
    assert body["tokensPerMinute"]["limit"] == 10_000
    assert body["tokensPerMinute"]["remaining"] < 10_000
    assert body["concurrentJobs"] == {"limit": 3, "remaining": 3}
    assert body["queuedJobs"] == {"limit": 7, "remaining": 7}


async def test_another_companys_interactive_request_is_prompt_while_a_large_batch_waits(
    client, emu
):
    flood = await new_tenant("flood")
    await limit_company(flood.company_id, rpm=5)
    flood_assistant = await create_assistant(client, flood)
    items = [{"customId": f"f{i}", "userInput": f"flood item {i}"} for i in range(2000)]
    response = await client.post(
        f"/api/assistants/{flood_assistant['id']}/batches",
        json={"items": items},
        headers=flood.headers,
    )
    assert response.status_code == 202
    calm = await new_tenant("calm")
    calm_assistant = await create_assistant(client, calm)
    await asyncio.sleep(0.5)
    started = time.monotonic()
    answer = await client.post(
        f"/api/assistants/{calm_assistant['id']}/execute",
        json={"userInput": "calm request"},
        headers=calm.headers,
    )
    assert answer.status_code == 200
    assert time.monotonic() - started < 2.0
    await client.post(f"/api/batches/{response.json()['id']}/cancel", headers=flood.headers)
