"""Token usage: one record per job, aggregated exactly, priced from the model catalogue."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.catalogue.service import find_model
from tests.factories import assert_error, create_assistant, new_tenant
from tests.pipeline.helpers import execute, unique, usage_rows

pytestmark = pytest.mark.usefixtures("worker")


def _price(provider: str, model: str, calls: list[dict]) -> tuple[int, int, float]:  # type: ignore[type-arg]
    info = find_model(provider, model)
    assert info is not None
    inp = sum(c["inputTokens"] for c in calls)
    out = sum(c["outputTokens"] for c in calls)
    return (
        inp,
        out,
        (inp * info.input_price_per_million + out * info.output_price_per_million) / 1e6,
    )


async def _report(client, tenant, group_by: str, **params: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = await client.get(
        "/api/usage", params={"groupBy": group_by, **params}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_usage_by_assistant_model_and_day_matches_what_the_provider_counted(client, emu):
    tenant = await new_tenant("usage")
    gpt = await create_assistant(client, tenant, llmModel="gpt-4o")
    claude = await create_assistant(
        client, tenant, name="Claude", llmProvider="anthropic", llmModel="claude-haiku-4-5"
    )
    gpt_texts = [unique("usage gpt"), unique("usage gpt with a much longer input " * 5)]
    claude_text = unique("usage claude")
    job_ids = []
    for text in gpt_texts:
        job_ids.append((await execute(client, tenant, gpt["id"], userInput=text)).json()["jobId"])
    job_ids.append(
        (await execute(client, tenant, claude["id"], userInput=claude_text)).json()["jobId"]
    )
    gpt_calls = [c for text in gpt_texts for c in emu.requests(contains=text)]
    claude_calls = emu.requests(contains=claude_text)
    gpt_in, gpt_out, gpt_cost = _price("openai", "gpt-4o", gpt_calls)
    claude_in, claude_out, claude_cost = _price("anthropic", "claude-haiku-4-5", claude_calls)

    by_assistant = {b["key"]: b for b in (await _report(client, tenant, "assistant"))["data"]}
    assert set(by_assistant) == {gpt["id"], claude["id"]}
    assert by_assistant[gpt["id"]]["requests"] == by_assistant[gpt["id"]]["succeeded"] == 2
    assert by_assistant[gpt["id"]]["inputTokens"] == gpt_in
    assert by_assistant[gpt["id"]]["outputTokens"] == gpt_out
    assert by_assistant[gpt["id"]]["totalTokens"] == gpt_in + gpt_out
    assert by_assistant[gpt["id"]]["cost"] == pytest.approx(gpt_cost, abs=1e-8)
    assert by_assistant[claude["id"]]["requests"] == 1
    assert by_assistant[claude["id"]]["cost"] == pytest.approx(claude_cost, abs=1e-8)

    by_model = {b["key"]: b for b in (await _report(client, tenant, "model"))["data"]}
    assert set(by_model) == {"openai/gpt-4o", "anthropic/claude-haiku-4-5"}
    assert by_model["anthropic/claude-haiku-4-5"]["inputTokens"] == claude_in
    assert by_model["anthropic/claude-haiku-4-5"]["outputTokens"] == claude_out

    [today] = (await _report(client, tenant, "day"))["data"]
    assert today["key"] == datetime.now(UTC).date().isoformat()
    assert today["requests"] == 3
    assert today["totalTokens"] == gpt_in + gpt_out + claude_in + claude_out
    assert today["cost"] == pytest.approx(gpt_cost + claude_cost, abs=1e-8)

    rows = await usage_rows(job_ids)
    assert sorted(row.job_id for row in rows) == sorted(job_ids)  # exactly one record per job
    assert {row.company_id for row in rows} == {tenant.company_id}
    assert all(row.latency_ms >= 0 and row.prompt_version == 1 for row in rows)


async def test_failed_calls_count_as_requests_but_not_as_succeeded(client, emu):
    tenant = await new_tenant("usage failures")
    assistant = await create_assistant(client, tenant)
    text = unique("usage failure")
    emu.fault(match=text, status=400, times=1)
    failed = await execute(client, tenant, assistant["id"], userInput=text)
    assert failed.status_code == 502
    await execute(client, tenant, assistant["id"], userInput=unique("usage success"))

    [bucket] = (await _report(client, tenant, "assistant"))["data"]
    assert (bucket["requests"], bucket["succeeded"]) == (2, 1)
    [row] = await usage_rows([failed.json()["error"]["details"]["jobId"]])
    assert (row.outcome, row.input_tokens, row.output_tokens, float(row.cost)) == (
        "PROVIDER_ERROR",
        0,
        0,
        0.0,
    )


async def test_usage_of_a_deleted_assistant_is_still_reported(client, emu):
    tenant = await new_tenant("usage deleted")
    assistant = await create_assistant(client, tenant)
    text = unique("before deletion")
    await execute(client, tenant, assistant["id"], userInput=text)
    [call] = emu.requests(contains=text)

    deleted = await client.delete(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    assert deleted.status_code == 200

    [bucket] = (await _report(client, tenant, "assistant"))["data"]
    assert bucket["key"] == assistant["id"]
    assert bucket["totalTokens"] == call["inputTokens"] + call["outputTokens"]


async def test_usage_is_scoped_to_the_range_and_the_company(client, emu):
    tenant = await new_tenant("usage range")
    assistant = await create_assistant(client, tenant)
    await execute(client, tenant, assistant["id"], userInput=unique("in range"))
    now = datetime.now(UTC)

    before = await _report(
        client,
        tenant,
        "day",
        **{
            "from": (now - timedelta(days=3)).isoformat(),
            "to": (now - timedelta(days=1)).isoformat(),
        },
    )
    assert before["data"] == []
    around = await _report(
        client,
        tenant,
        "day",
        **{
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert around["data"][0]["requests"] == 1
    stranger = await new_tenant("usage stranger")
    assert (await _report(client, stranger, "assistant"))["data"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-02-01", "to": "2025-01-01"},
        {"from": "2025-01-01", "to": "2025-01-01"},
        {"from": "2023-01-01", "to": "2025-01-01"},
        {"from": "yesterday"},
        {"from": "2025-13-45"},
        {"groupBy": "week"},
    ],
    ids=["reversed", "empty", "over-366-days", "not-a-date", "impossible-date", "bad-group"],
)
async def test_invalid_usage_query_is_400(client, tenant, params):
    response = await client.get("/api/usage", params=params, headers=tenant.headers)
    assert_error(response, 400, "VALIDATION_ERROR")
