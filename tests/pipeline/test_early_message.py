"""A synchronous job's message leaves the API with its admission, before its row is committed
(`shared.jobs.service.admit_fresh`): the worker that gets it first waits for the row."""

import asyncio
import time
from datetime import datetime

import pytest
from redis.asyncio import Redis

from shared.config import get_settings
from shared.db import create_driver_pool
from shared.ids import new_id
from shared.jobs import fresh_admission
from shared.jobs.schemas import ExecuteRequest
from shared.queueing import execute_message, make_celery
from tests.factories import create_assistant
from tests.pipeline.conftest import scrape, wait_for_job
from tests.pipeline.helpers import unique
from tests.prometheus import sample

WAITS = "assistants_unwritten_job_waits_total"

pytestmark = pytest.mark.usefixtures("worker")


async def _send_before_writing(job_id: str) -> None:
    """The message exactly as the API sends it with a synchronous job's admission."""
    settings = get_settings()
    message = execute_message(make_celery(settings), settings, job_id, "interactive", time.time())
    redis = Redis.from_url(settings.broker_url)
    try:
        await redis.lpush(message.key, message.body)
    finally:
        await redis.aclose()


async def test_a_job_whose_message_came_first_runs_once_its_row_is_written(
    client, tenant, emu, worker_metrics
):
    assistant = await create_assistant(client, tenant)
    claimed_before = sample(scrape(worker_metrics), WAITS, outcome="claimed")
    text = unique("written late")
    job_id = new_id()
    await _send_before_writing(job_id)
    await asyncio.sleep(0.3)  # the worker has the message and finds no row

    settings = get_settings()
    pool = await create_driver_pool(settings, 1)
    try:
        await fresh_admission.insert(
            fresh_admission.GroupInsert(pool),
            tenant.company_id,
            assistant["id"],
            ExecuteRequest(userInput=text),
            kind="interactive",
            request_id=None,
            job_id=job_id,
        )
    finally:
        await pool.close()

    job = await wait_for_job(client, tenant.headers, job_id, within=10)
    assert job["status"] == "succeeded"
    assert job["attempts"] == 1
    # Started from that first message: the reaper re-sends a queued job only once it is
    # QUEUED_JOB_REQUEUE_SECONDS old.
    waited = datetime.fromisoformat(job["startedAt"]) - datetime.fromisoformat(job["createdAt"])
    assert waited.total_seconds() < get_settings().queued_job_requeue_seconds
    assert job["result"]["response"] == f"Echo: {text} [turns=1]"
    assert len(emu.requests(contains=text)) == 1
    assert sample(scrape(worker_metrics), WAITS, outcome="claimed") == claimed_before + 1


async def test_the_message_of_a_job_never_written_is_dropped_and_the_worker_goes_on(
    client, tenant, emu, worker, worker_metrics
):
    assistant = await create_assistant(client, tenant)
    dropped_before = sample(scrape(worker_metrics), WAITS, outcome="dropped")
    job_id = new_id()
    await _send_before_writing(job_id)

    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "meanwhile"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text  # one waiting job holds up no other

    deadline = time.monotonic() + 15
    while f"job_id={job_id}" not in worker.log_text():
        assert time.monotonic() < deadline, "the worker still waits for the row"
        await asyncio.sleep(0.2)
    line = next(line for line in worker.log_text().splitlines() if f"job_id={job_id}" in line)
    assert "job not written in time; its message is dropped" in line
    status = await client.get(f"/api/jobs/{job_id}", headers=tenant.headers)
    assert status.status_code == 404
    assert sample(scrape(worker_metrics), WAITS, outcome="dropped") == dropped_before + 1
