"""Prompt statistics from executions that really ran: API -> worker -> SDK -> emulator."""

import statistics as stats
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.catalogue.service import find_model
from shared.models import UsageRecord
from tests.factories import Tenant, create_assistant, in_transaction, new_tenant

pytestmark = pytest.mark.usefixtures("worker")

V1_PROMPT = "You are version one."
V2_PROMPT = "You are version two: answer with care, cite the order number, and stay brief."


async def execute(
    client: httpx.AsyncClient, tenant: Tenant, assistant_id: str, text: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/assistants/{assistant_id}/execute", json={"userInput": text}, headers=tenant.headers
    )
    body = response.json()
    job_id = body["jobId"] if response.status_code == 200 else body["error"]["details"]["jobId"]
    job = await client.get(f"/api/jobs/{job_id}", headers=tenant.headers)
    return job.json()


def emulated_usage(emu, text: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The tokens the emulator charged for the one successful call carrying `text`."""
    [call] = [c for c in emu.requests(contains=text) if c["status"] == 200]
    return call["inputTokens"], call["outputTokens"]


async def latencies(assistant_id: str, version: int) -> list[int]:
    async def work(session):  # type: ignore[no-untyped-def]
        rows = await session.execute(
            select(UsageRecord.latency_ms).where(
                UsageRecord.assistant_id == assistant_id,
                UsageRecord.prompt_version == version,
                UsageRecord.outcome == "succeeded",
            )
        )
        return list(rows.scalars())

    return await in_transaction(work)


def p95(values: list[int]) -> float:
    """PostgreSQL's percentile_cont(0.95): linear interpolation between closest ranks."""
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def expected(emu, texts: list[str], jobs: list[dict], latency_ms: list[int]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Per-version figures computed independently from the emulator's record and the jobs."""
    price = find_model("openai", "gpt-4o")
    assert price is not None
    ok = [text for text, job in zip(texts, jobs, strict=True) if job["status"] == "succeeded"]
    usage = [emulated_usage(emu, text) for text in ok]
    return {
        "executions": len(texts),
        "succeeded": len(ok),
        "failed": len(texts) - len(ok),
        "successRate": round(len(ok) / len(texts), 4),
        "averageInputTokens": round(stats.mean(u[0] for u in usage), 2),
        "averageOutputTokens": round(stats.mean(u[1] for u in usage), 2),
        "totalCost": pytest.approx(sum(price.cost(*u) for u in usage), abs=1e-7),
        "averageLatencyMs": round(stats.mean(latency_ms), 1),
        "p95LatencyMs": round(p95(latency_ms), 1),
        "lastUsedAt": max(job["finishedAt"] for job in jobs),
    }


async def test_statistics_per_version_come_from_the_executions_that_ran_with_it(
    client, tenant, emu
):
    assistant = await create_assistant(client, tenant, llmPrompt=V1_PROMPT)
    aid = assistant["id"]

    emu.configure(latencyMs=20)
    v1_texts = [f"first-era question {i}" for i in range(3)]
    v1_jobs = [await execute(client, tenant, aid, text) for text in v1_texts]
    assert [job["status"] for job in v1_jobs] == ["succeeded"] * 3

    changed = await client.put(
        f"/api/assistants/{aid}",
        json={"llmPrompt": V2_PROMPT, "changeNote": "More guidance"},
        headers=tenant.headers,
    )
    assert changed.status_code == 200
    emu.configure(latencyMs=120)
    emu.fault(match="second-era question 1", status=400, times=1)
    v2_texts = [f"second-era question {i}" for i in range(4)]
    v2_jobs = [await execute(client, tenant, aid, text) for text in v2_texts]
    assert [job["status"] for job in v2_jobs] == ["succeeded", "failed", "succeeded", "succeeded"]
    assert v2_jobs[1]["error"]["code"] == "PROVIDER_ERROR"
    assert {job["promptVersion"] for job in v1_jobs} == {1}
    assert {job["promptVersion"] for job in v2_jobs} == {2}

    response = await client.get(
        f"/api/assistants/{aid}/prompt-history/statistics", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["totalVersions"], body["currentVersion"], body["rollbacks"]) == (2, 2, 0)
    assert body["averagePromptLength"] == round((len(V1_PROMPT) + len(V2_PROMPT)) / 2, 1)
    v2, v1 = body["versions"]
    assert v1 == {"version": 1, **expected(emu, v1_texts, v1_jobs, await latencies(aid, 1))}
    assert v2 == {"version": 2, **expected(emu, v2_texts, v2_jobs, await latencies(aid, 2))}
    assert v2["successRate"] == 0.75
    # The emulator's added latency shows in the provider-call latency of each version.
    assert v1["averageLatencyMs"] >= 20 and v2["averageLatencyMs"] >= 120
    # The longer system prompt of v2 costs more input tokens per call.
    assert v2["averageInputTokens"] > v1["averageInputTokens"]


async def test_executions_after_a_rollback_count_for_the_new_version(client, tenant, emu):
    assistant = await create_assistant(client, tenant, llmPrompt=V1_PROMPT)
    aid = assistant["id"]
    await execute(client, tenant, aid, "before any change")
    await client.put(
        f"/api/assistants/{aid}", json={"llmPrompt": V2_PROMPT}, headers=tenant.headers
    )
    rolled = await client.post(
        f"/api/assistants/{aid}/prompt-history/1/rollback", headers=tenant.headers
    )
    assert rolled.json()["version"] == 3
    job = await execute(client, tenant, aid, "after the rollback")
    assert (job["status"], job["promptVersion"]) == ("succeeded", 3)
    [call] = emu.requests(contains="after the rollback")
    assert V1_PROMPT in str(call["body"]) and V2_PROMPT not in str(call["body"])

    body = (
        await client.get(f"/api/assistants/{aid}/prompt-history/statistics", headers=tenant.headers)
    ).json()
    assert (body["totalVersions"], body["currentVersion"], body["rollbacks"]) == (3, 3, 1)
    counts = {v["version"]: (v["executions"], v["succeeded"]) for v in body["versions"]}
    assert counts == {3: (1, 1), 2: (0, 0), 1: (1, 1)}
    assert body["versions"][0]["lastUsedAt"] == job["finishedAt"]


async def test_statistics_ignore_other_assistants_and_companies(client, tenant, emu):
    mine = await create_assistant(client, tenant, llmPrompt=V1_PROMPT)
    other_assistant = await create_assistant(client, tenant, llmPrompt=V1_PROMPT)
    other_company = await new_tenant("Other Co")
    theirs = await create_assistant(client, other_company, llmPrompt=V1_PROMPT)
    await execute(client, tenant, mine["id"], "mine")
    await execute(client, tenant, other_assistant["id"], "sibling")
    await execute(client, other_company, theirs["id"], "theirs")
    body = (
        await client.get(
            f"/api/assistants/{mine['id']}/prompt-history/statistics", headers=tenant.headers
        )
    ).json()
    [v1] = body["versions"]
    assert (v1["executions"], v1["succeeded"]) == (1, 1)
    foreign = await client.get(
        f"/api/assistants/{theirs['id']}/prompt-history/statistics", headers=tenant.headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "ASSISTANT_NOT_FOUND"
