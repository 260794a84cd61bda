"""Request ids, the access log, the API's `/metrics` and the backlog in `/readyz`."""

import logging
import re
from typing import Any

import pytest

from api.monitoring.metrics import UNMATCHED_ROUTE
from tests.factories import create_assistant
from tests.pipeline.helpers import job_row, unique
from tests.prometheus import sample

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        record.msg
        for record in caplog.records
        if record.name == "api.access" and isinstance(record.msg, dict)
    ]


async def test_a_valid_inbound_request_id_is_echoed(client):
    response = await client.get("/healthz", headers={"X-Request-Id": "req-1.A_b"})
    assert response.headers["X-Request-Id"] == "req-1.A_b"


@pytest.mark.parametrize(
    "inbound", ["x" * 65, "has space", "semi;colon", "caf\xe9".encode("latin-1")]
)
async def test_an_implausible_request_id_is_replaced_by_a_generated_one(client, inbound):
    response = await client.get("/healthz", headers={"X-Request-Id": inbound})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


async def test_every_response_gets_a_request_id_even_an_error(client):
    plain = await client.get("/healthz")
    refused = await client.get("/api/assistants?name=%00")  # refused before any route runs
    unknown = await client.get("/no/such/path")
    assert refused.status_code == 400 and unknown.status_code == 404
    ids = {r.headers["X-Request-Id"] for r in (plain, refused, unknown)}
    assert len(ids) == 3 and all(GENERATED_ID.fullmatch(i) for i in ids)


async def test_the_execute_request_id_is_stored_on_its_job(client, tenant):
    assistant = await create_assistant(client, tenant)
    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": unique("request id")},
        headers={**tenant.headers, "Prefer": "respond-async", "X-Request-Id": "trace-42"},
    )
    assert response.status_code == 202
    assert response.headers["X-Request-Id"] == "trace-42"
    assert (await job_row(response.json()["id"])).request_id == "trace-42"


async def test_one_access_line_per_request_with_route_status_and_company_but_no_secrets(
    client, tenant, caplog
):
    assistant = await create_assistant(client, tenant, llmPrompt="SECRET PROMPT")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="api.access"):
        response = await client.get(
            f"/api/assistants/{assistant['id']}?q=private",
            headers={**tenant.headers, "X-Request-Id": "abc-123"},
        )
    assert response.status_code == 200
    [line] = access_lines(caplog)
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/api/assistants/{assistant_id}"
    assert line["status"] == 200
    assert line["request_id"] == "abc-123"
    assert line["company_id"] == tenant.company_id
    assert isinstance(line["duration_ms"], float)
    text = repr(line)
    for secret in (tenant.api_key, "SECRET PROMPT", "private", assistant["id"]):
        assert secret not in text


async def test_probes_are_logged_at_debug_only(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.access"):
        await client.get("/healthz")
    assert access_lines(caplog) == []


async def test_metrics_count_requests_by_route_template_not_raw_path(client, tenant):
    before = (await client.get("/metrics")).text
    labels = {"method": "GET", "route": "/api/jobs/{job_id}", "status": "404"}
    await client.get("/api/jobs/ffffffffffffffffffffffff", headers=tenant.headers)
    await client.get("/some/random/path/123")
    after = await client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    counted = sample(text, "assistants_http_requests_total", **labels)
    assert counted == sample(before, "assistants_http_requests_total", **labels) + 1
    assert sample(text, "assistants_http_request_duration_seconds_count", **labels) >= 1
    unmatched = {"method": "GET", "route": UNMATCHED_ROUTE, "status": "404"}
    assert sample(text, "assistants_http_requests_total", **unmatched) >= 1
    assert "/some/random/path" not in text and "ffffffffffffffffffffffff" not in text


async def test_metrics_count_accepted_jobs_by_kind(client, tenant):
    assistant = await create_assistant(client, tenant)
    before = sample(
        (await client.get("/metrics")).text, "assistants_jobs_accepted_total", kind="async"
    )
    for _ in range(2):
        response = await client.post(
            f"/api/assistants/{assistant['id']}/execute",
            json={"userInput": unique("count me")},
            headers={**tenant.headers, "Prefer": "respond-async"},
        )
        assert response.status_code == 202
    after = sample(
        (await client.get("/metrics")).text, "assistants_jobs_accepted_total", kind="async"
    )
    assert after == before + 2


async def test_metrics_report_the_backlog_gauges(client):
    text = (await client.get("/metrics")).text
    for queue in ("interactive", "default", "batch", "maintenance"):
        assert f'assistants_queue_depth{{queue="{queue}"}}' in text
    for queue in ("interactive", "default", "batch"):
        assert f'assistants_queue_oldest_job_age_seconds{{queue="{queue}"}}' in text
    assert re.search(r"^assistants_workers_alive [01]\.0$", text, re.MULTILINE)
    assert "assistants_http_requests_in_progress" in text


async def test_metrics_stay_out_of_the_published_api(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths


async def test_readyz_reports_the_queue_backlog_and_worker_liveness(client):
    body = (await client.get("/readyz")).json()
    assert set(body["queues"]) == {"interactive", "default", "batch", "maintenance"}
    assert all(isinstance(depth, int) and depth >= 0 for depth in body["queues"].values())
    assert isinstance(body["workersAlive"], bool)
