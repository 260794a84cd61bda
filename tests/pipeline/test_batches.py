"""Batches through the real pipeline: ingest, per-item validation, progress, results, cancel."""

import asyncio
import os

import orjson
import pytest
from sqlalchemy import text

from shared.config import get_settings
from shared.db import create_engine
from tests.factories import create_assistant, new_tenant
from tests.pipeline.limits_helpers import limit_company

pytestmark = pytest.mark.usefixtures("worker")
BIG = int(os.environ.get("BIG_BATCH", "10000"))


async def _wait_done(client, tenant, batch_id: str, within: float = 60) -> dict:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while True:
        batch = (await client.get(f"/api/batches/{batch_id}", headers=tenant.headers)).json()
        if batch["status"] in ("completed", "cancelled"):
            return batch
        assert asyncio.get_running_loop().time() < deadline, batch
        await asyncio.sleep(0.25)


async def _results(client, tenant, batch_id: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    response = await client.get(f"/api/batches/{batch_id}/results", headers=tenant.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.content.splitlines() if line]
    return {line["customId"]: line for line in lines}


async def _scalar(sql: str, **params: str) -> int:
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar_one()
    finally:
        await engine.dispose()


async def test_batch_reports_invalid_items_and_runs_the_valid_ones(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    items = [
        {"customId": "a", "userInput": "batch item a"},
        {"customId": "b", "userInput": "batch item b"},
        {"customId": "no-input"},
        {"customId": "a", "userInput": "duplicate id"},
        {"customId": "c", "userInput": "batch item c", "extra": 1},
        {"customId": "d", "userInput": "batch item d"},
    ]
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json={"items": items}, headers=tenant.headers
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert response.headers["Location"] == f"/api/batches/{created['id']}"
    assert created["totalItems"] == 3
    assert [(i["index"], i["customId"]) for i in created["invalidItems"]] == [
        (2, "no-input"),
        (3, "a"),
        (4, "c"),
    ]
    done = await _wait_done(client, tenant, created["id"])
    assert done["counts"]["succeeded"] == 3
    assert done["progress"] == 1.0
    results = await _results(client, tenant, created["id"])
    assert set(results) == {"a", "b", "d"}
    assert results["b"]["result"]["response"] == "Echo: batch item b [turns=1]"
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 3  # batch items are ordinary jobs


async def test_batch_accepts_a_jsonl_upload_and_a_jsonl_body(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    jsonl = b'{"customId": "x1", "userInput": "upload one"}\n{"customId": "x2", "userInput": "upload two"}\nnot json\n'
    url = f"/api/assistants/{assistant['id']}/batches"
    upload = await client.post(url, files={"file": ("items.jsonl", jsonl)}, headers=tenant.headers)
    assert upload.status_code == 202, upload.text
    assert upload.json()["totalItems"] == 2
    assert upload.json()["invalidItems"][0]["index"] == 2
    body = await client.post(
        url, content=jsonl, headers={**tenant.headers, "Content-Type": "application/x-ndjson"}
    )
    assert body.status_code == 202
    for batch in (upload.json(), body.json()):
        assert (await _wait_done(client, tenant, batch["id"]))["counts"]["succeeded"] == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"items": [{"customId": "only", "userInput": ""}]}, 400, "INVALID_BATCH"),
        ({"items": "nope"}, 400, "VALIDATION_ERROR"),
        ([], 400, "VALIDATION_ERROR"),
    ],
)
async def test_batch_without_valid_items_is_refused_and_writes_nothing(
    client, tenant, payload, status, code
):
    assistant = await create_assistant(client, tenant)
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json=payload, headers=tenant.headers
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert (await client.get("/api/batches", headers=tenant.headers)).json()["meta"]["total"] == 0


async def test_batch_over_the_size_limits_is_refused_before_anything_is_written(
    client, tenant, app, monkeypatch
):
    assistant = await create_assistant(client, tenant)
    settings = app.state.resources.settings
    url = f"/api/assistants/{assistant['id']}/batches"
    monkeypatch.setattr(settings, "batch_max_items", 3)
    items = [{"customId": str(i), "userInput": "x"} for i in range(4)]
    too_many = await client.post(url, json={"items": items}, headers=tenant.headers)
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "BATCH_TOO_LARGE"
    monkeypatch.setattr(settings, "batch_max_body_bytes", 100)
    too_big = await client.post(url, json={"items": items[:2] * 5}, headers=tenant.headers)
    assert too_big.status_code == 413
    assert (await client.get("/api/jobs", headers=tenant.headers)).json()["meta"]["total"] == 0


async def test_cancel_stops_what_has_not_started(client, emu):
    tenant = await new_tenant("batch-cancel")
    await limit_company(tenant.company_id, rpm=2)
    assistant = await create_assistant(client, tenant)
    items = [{"customId": f"c{i}", "userInput": f"cancel me {i}"} for i in range(20)]
    created = (
        await client.post(
            f"/api/assistants/{assistant['id']}/batches",
            json={"items": items},
            headers=tenant.headers,
        )
    ).json()
    await asyncio.sleep(1)
    cancelled = await client.post(f"/api/batches/{created['id']}/cancel", headers=tenant.headers)
    assert cancelled.status_code == 200
    done = await _wait_done(client, tenant, created["id"])
    assert done["status"] == "cancelled"
    assert done["counts"]["cancelled"] >= 18
    ran = done["counts"]["succeeded"]
    await asyncio.sleep(1)
    assert len(emu.requests(contains="cancel me")) == ran
    results = await _results(client, tenant, created["id"])
    assert (
        sum(1 for r in results.values() if r["status"] == "cancelled")
        == done["counts"]["cancelled"]
    )


async def test_unknown_or_foreign_batch_is_404(client, tenant):
    other = await new_tenant("other")
    assistant = await create_assistant(client, other)
    created = (
        await client.post(
            f"/api/assistants/{assistant['id']}/batches",
            json={"items": [{"customId": "z", "userInput": "z"}]},
            headers=other.headers,
        )
    ).json()
    for method, path in (("GET", ""), ("GET", "/results"), ("POST", "/cancel")):
        response = await client.request(
            method, f"/api/batches/{created['id']}{path}", headers=tenant.headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "BATCH_NOT_FOUND"


@pytest.mark.timeout(900)  # ~100 s on an idle 2-core machine; minutes when it is shared
async def test_ten_thousand_items_run_to_completion_with_one_usage_record_each(client, emu):
    tenant = await new_tenant("big-batch")
    await limit_company(tenant.company_id, rpm=1_000_000, tpm=1_000_000_000, concurrency=1000)
    assistant = await create_assistant(client, tenant, maxTokens=64)
    items = [{"customId": f"item-{i}", "userInput": f"big batch {i}"} for i in range(BIG)]
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json={"items": items}, headers=tenant.headers
    )
    assert response.status_code == 202
    batch_id = response.json()["id"]
    done = await _wait_done(client, tenant, batch_id, within=840)
    assert done["counts"]["succeeded"] == BIG
    results = await _results(client, tenant, batch_id)
    assert len(results) == BIG
    assert (
        results[f"item-{BIG - 7}"]["result"]["response"] == f"Echo: big batch {BIG - 7} [turns=1]"
    )
    usage = await _scalar(
        "SELECT count(*) FROM usage_records u JOIN jobs j ON j.id = u.job_id WHERE j.batch_id = :b",
        b=batch_id,
    )
    duplicates = await _scalar(
        "SELECT count(*) - count(DISTINCT job_id) FROM usage_records WHERE company_id = :c",
        c=tenant.company_id,
    )
    assert (usage, duplicates) == (BIG, 0)


async def test_a_slow_item_does_not_hold_back_the_results_of_its_chunk(client, tenant, emu):
    """Items of one chunk are written as their calls finish, not when the slowest one does."""
    assistant = await create_assistant(client, tenant)
    texts = [f"chunk item {i} {os.urandom(4).hex()}" for i in range(4)]
    emu.fault(match=texts[0], status=200, delayMs=2000, times=1)
    items = [{"customId": str(i), "userInput": text} for i, text in enumerate(texts)]
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json={"items": items}, headers=tenant.headers
    )
    assert response.status_code == 202
    batch_id = response.json()["id"]
    assert (await _wait_done(client, tenant, batch_id))["counts"]["succeeded"] == 4

    async def seconds(sql: str) -> float:
        return float(await _scalar(sql, batch_id=batch_id))

    claims = await _scalar(
        "SELECT count(DISTINCT started_at) FROM jobs WHERE batch_id = :batch_id", batch_id=batch_id
    )
    assert claims == 1, "the four items ran in one chunk"
    slow = await seconds(
        "SELECT extract(epoch FROM max(finished_at)) FROM jobs WHERE batch_id = :batch_id"
    )
    fast = await seconds(
        "SELECT extract(epoch FROM max(finished_at)) FROM jobs "
        "WHERE batch_id = :batch_id AND custom_id <> '0'"
    )
    assert slow - fast > 1.5  # the three fast items were written before the slow call ended
