"""At-least-once delivery with exactly-once effects, with real processes: kill -9, lost messages,
duplicated tasks. These tests decide which worker runs a job, so the shared worker is stopped.
"""

from collections.abc import Iterator

import pytest
from redis import Redis

from shared.queueing import Queue, make_celery, queue_name, send_jobs
from tests import processes
from tests.factories import create_assistant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import execute, job_row, unique, usage_count, wait_for_request


class Workers:
    """Workers started by one test; all stopped (or already killed) when it ends."""

    def __init__(self) -> None:
        self.started: list[processes.CeleryProcess] = []

    def start(self, name: str) -> processes.CeleryProcess:
        process = processes.worker(name, concurrency=10).start()
        self.started.append(process)
        return process


@pytest.fixture(scope="module")
def shared_worker_stopped(worker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    worker.stop()
    yield
    worker.start()


@pytest.fixture
def workers(shared_worker_stopped) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    own = Workers()
    yield own
    for process in own.started:
        process.stop()


async def _messages_in_queue(settings, queue: Queue) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    redis = Redis.from_url(settings.redis_url)
    try:
        key = f"{settings.redis_key_prefix}:celery:{queue_name(settings, queue)}"
        return key, int(redis.llen(key))
    finally:
        redis.close()


async def test_a_job_whose_worker_is_killed_mid_call_finishes_once_on_another_worker(
    client, tenant, emu, workers
):
    victim = workers.start("victim")
    assistant = await create_assistant(client, tenant)
    text = unique("killed mid-call")
    emu.fault(match=text, status=200, delayMs=3000, times=1)
    response = await execute(client, tenant, assistant["id"], respond_async=True, userInput=text)
    job_id = response.json()["id"]
    await wait_for_request(emu, text)

    victim.kill()
    workers.start("rescuer")
    job = await wait_for_job(client, tenant.headers, job_id, within=20)

    assert job["status"] == "succeeded", job
    assert job["result"]["response"] == f"Echo: {text} [turns=1]"
    row = await job_row(job_id)
    assert row.deliveries == 2
    assert await usage_count(job_id) == 1
    assert len(emu.requests(contains=text)) == 2  # the killed call, and the one that answered
    detail = (await client.get(f"/api/sessions/{job['sessionId']}", headers=tenant.headers)).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]


async def test_a_lost_queue_message_is_sent_again_by_the_reaper(
    client, tenant, emu, workers, app, settings, monkeypatch
):
    monkeypatch.setattr(app.state.resources.settings, "sync_wait_seconds", 0.2)
    assistant = await create_assistant(client, tenant)
    text = unique("message lost with redis")
    response = await execute(client, tenant, assistant["id"], userInput=text)
    assert response.status_code == 202  # no worker: the synchronous wait ran out
    job_id = response.json()["id"]
    key, waiting = await _messages_in_queue(settings, Queue.interactive)
    assert waiting == 1

    redis = Redis.from_url(settings.redis_url)
    redis.delete(key)  # what a Redis restart without persistence does to the queue
    redis.close()
    workers.start("after-loss")
    job = await wait_for_job(client, tenant.headers, job_id, within=15)

    assert job["status"] == "succeeded", job
    assert len(emu.requests(contains=text)) == 1
    assert (await job_row(job_id)).deliveries == 1
    assert await usage_count(job_id) == 1


async def test_a_duplicated_task_runs_the_job_once(client, tenant, emu, workers, settings):
    assistant = await create_assistant(client, tenant)
    text = unique("delivered three times")
    response = await execute(client, tenant, assistant["id"], respond_async=True, userInput=text)
    job_id = response.json()["id"]
    celery = make_celery(settings)
    try:  # two extra copies, plus a task for a job that does not exist
        send_jobs(
            celery,
            settings,
            [(job_id, "interactive"), (job_id, "async"), ("ffffffffffffffffffffffff", "async")],
        )
    finally:
        celery.close()

    workers.start("duplicates")
    job = await wait_for_job(client, tenant.headers, job_id, within=15)

    assert job["status"] == "succeeded", job
    assert len(emu.requests(contains=text)) == 1
    assert await usage_count(job_id) == 1
    assert (await job_row(job_id)).deliveries == 1
    detail = (await client.get(f"/api/sessions/{job['sessionId']}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 2
