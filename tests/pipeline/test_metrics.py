"""The API's `/metrics` and a worker's exporter move as jobs run through the real pipeline."""

import socket

from tests.factories import create_assistant
from tests.pipeline.conftest import scrape
from tests.pipeline.helpers import execute, unique
from tests.prometheus import sample
from workers.metrics import start_exporter

PROVIDER, MODEL = "anthropic", "claude-haiku-4-5"  # a model no other test of this module uses


async def test_figures_move_as_jobs_run(client, tenant, emu, worker_metrics):
    assistant = await create_assistant(client, tenant, llmProvider=PROVIDER, llmModel=MODEL)
    api_before = (await client.get("/metrics")).text
    worker_before = scrape(worker_metrics)

    ok, retried, failing = unique("ok"), unique("retried"), unique("failing")
    emu.fault(match=retried, status=503, times=1)
    emu.fault(match=failing, status=400, times=1)
    for text, status in ((ok, 200), (retried, 200), (failing, 502)):
        response = await execute(client, tenant, assistant["id"], userInput=text)
        assert response.status_code == status, response.text

    api_after = (await client.get("/metrics")).text
    worker_after = scrape(worker_metrics)

    def api_delta(name: str, **labels: str) -> float:
        return sample(api_after, name, **labels) - sample(api_before, name, **labels)

    def worker_delta(name: str, **labels: str) -> float:
        return sample(worker_after, name, **labels) - sample(worker_before, name, **labels)

    route = "/api/assistants/{assistant_id}/execute"
    assert (
        api_delta("assistants_http_requests_total", method="POST", route=route, status="200") == 2
    )
    assert (
        api_delta("assistants_http_requests_total", method="POST", route=route, status="502") == 1
    )
    assert api_delta("assistants_jobs_accepted_total", kind="interactive") >= 3

    call = {"provider": PROVIDER, "model": MODEL}
    histogram = "assistants_provider_request_duration_seconds"
    assert worker_delta(f"{histogram}_count", **call, outcome="ok") == 2
    assert worker_delta(f"{histogram}_count", **call, outcome="error") == 2  # the 503 and the 400
    assert worker_delta(f"{histogram}_sum", **call, outcome="ok") > 0
    assert worker_delta("assistants_provider_tokens_total", **call, direction="input") > 0
    assert worker_delta("assistants_provider_tokens_total", **call, direction="output") > 0
    retries = {"provider": PROVIDER, "code": "PROVIDER_UNAVAILABLE"}
    assert worker_delta("assistants_provider_retries_total", **retries) == 1
    finished = {"kind": "interactive", "status": "succeeded", "error_code": ""}
    assert worker_delta("assistants_jobs_finished_total", **finished) >= 2
    failed = {"kind": "interactive", "status": "failed", "error_code": "PROVIDER_ERROR"}
    assert worker_delta("assistants_jobs_finished_total", **failed) >= 1
    assert sample(worker_after, "assistants_provider_calls_in_flight", provider=PROVIDER) == 0

    for queue in ("interactive", "default", "batch", "maintenance"):
        assert f'assistants_queue_depth{{queue="{queue}"}}' in api_after
    assert "assistants_queue_oldest_job_age_seconds" in api_after
    assert "assistants_workers_alive 1.0" in api_after


def test_an_exporter_whose_port_is_taken_does_not_stop_the_worker():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert start_exporter(taken.getsockname()[1], "127.0.0.1") is False
    assert start_exporter(0, "127.0.0.1") is False  # 0 turns the exporter off
