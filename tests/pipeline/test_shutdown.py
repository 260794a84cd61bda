"""A rolling deploy loses nothing: SIGTERM lets a worker finish its running job, and the API stays
ready (reporting the backlog) while no worker runs."""

import asyncio
import re
import signal
import time
from collections.abc import Iterator

import pytest

from tests import processes
from tests.factories import create_assistant
from tests.pipeline.helpers import execute, job_row, unique, usage_count, wait_for_request


@pytest.fixture(scope="module")
def no_shared_worker(worker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Stop the session's worker so jobs land on the test's own (restarted afterwards)."""
    worker.stop()
    yield
    started = worker.log_text().count(" ready.")
    worker.start()  # returns at once: the log it appends to already says " ready."
    deadline = time.monotonic() + 30
    while worker.log_text().count(" ready.") == started and time.monotonic() < deadline:
        time.sleep(0.1)


pytestmark = pytest.mark.usefixtures("no_shared_worker")


async def test_api_stays_ready_without_workers_and_reports_the_backlog(client):
    deadline = asyncio.get_running_loop().time() + 15
    while True:  # the worker probe is cached a few seconds; beat keeps sending periodic tasks
        response = await client.get("/readyz")
        body = response.json()
        if body["workersAlive"] is False and body["queues"]["maintenance"] > 0:
            break
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.5)
    assert response.status_code == 200 and body["status"] == "ok"
    metrics = (await client.get("/metrics")).text
    assert re.search(r"^assistants_workers_alive 0\.0$", metrics, re.MULTILINE)
    depth = re.search(r'^assistants_queue_depth\{queue="maintenance"\} (\S+)$', metrics, re.M)
    assert depth and float(depth.group(1)) > 0


async def test_sigterm_lets_the_worker_finish_its_running_job(client, tenant, emu):
    drain = processes.worker("drain").start()
    try:
        assistant = await create_assistant(client, tenant)
        text = unique("drain me")
        emu.fault(match=text, status=200, delayMs=1500, times=1)
        response = await execute(
            client, tenant, assistant["id"], respond_async=True, userInput=text
        )
        assert response.status_code == 202
        job_id = response.json()["id"]
        await wait_for_request(emu, text)  # the provider call is in flight

        drain.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        exit_code = await asyncio.to_thread(drain.proc.wait, 30)  # type: ignore[union-attr]
    finally:
        drain.stop()

    assert exit_code == 0, drain.log_text()[-3000:]
    job = await job_row(job_id)
    assert job.status == "succeeded", (job.status, job.error_code)
    assert job.attempts == 1 and job.deliveries == 1
    assert await usage_count(job_id) == 1
    assert len(emu.requests(contains=text)) == 1
