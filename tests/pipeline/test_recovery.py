"""At-least-once delivery with exactly-once effects, with real processes: kill -9, lost messages,
duplicated tasks. These tests decide which worker runs a job, so the shared worker is stopped.
"""

import asyncio
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


async def _unanswered_interactive_job(client, tenant, app, monkeypatch, text: str) -> str:  # type: ignore[no-untyped-def]
    """A synchronous execute with no worker running: its wait runs out and it answers 202."""
    monkeypatch.setattr(app.state.resources.settings, "sync_wait_seconds", 0.2)
    assistant = await create_assistant(client, tenant)
    response = await execute(client, tenant, assistant["id"], userInput=text)
    assert response.status_code == 202
    return response.json()["id"]


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
    text = unique("message lost with redis")
    job_id = await _unanswered_interactive_job(client, tenant, app, monkeypatch, text)
    key, waiting = await _messages_in_queue(settings, Queue.interactive)
    assert waiting == 1

    redis = Redis.from_url(settings.redis_url)
    redis.delete(key)  # what a Redis restart without persistence does to the queue
    redis.close()
    workers.start("after-loss")
    job = await wait_for_job(client, tenant.headers, job_id, within=15)

    assert job["status"] == "succeeded", job
    assert len(emu.requests(contains=text)) == 1
    row = await job_row(job_id)
    # One provider attempt. A second delivery is the limiter's hand-back, when the re-sent task
    # reached the new worker after the admission's window had passed (the worker's start-up and
    # the reaper's delay decide that): the job went back through the dispatcher once, uncalled.
    assert row.attempts == 1 and row.deliveries in (1, 2)
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
    # A copy that got to the job before the dispatcher found it not admitted by the limiter and
    # handed it back uncalled; the dispatcher's admission then ran it: one provider attempt.
    assert (await job_row(job_id)).attempts == 1
    detail = (await client.get(f"/api/sessions/{job['sessionId']}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 2


async def test_a_job_that_waited_longer_than_the_limit_window_is_admitted_again_before_its_call(
    client, tenant, emu, workers, app, settings, monkeypatch
):
    """The API stamped the interactive job in the limiter; no worker got to it within the window
    (5 s plus the 1 s margin here), so the stamp left the window. Calling it now would put an
    uncounted request in the provider's minute: the worker hands it back to the dispatcher,
    which admits it again."""
    text = unique("admission lapsed")
    job_id = await _unanswered_interactive_job(client, tenant, app, monkeypatch, text)
    requests_log = settings.key("limits", "{" + tenant.company_id + "}") + ":requests"
    redis = Redis.from_url(settings.redis_url)
    admitted_at = redis.zscore(requests_log, job_id)
    assert admitted_at is not None
    await asyncio.sleep(settings.limit_window_seconds + settings.limit_window_margin_seconds + 0.3)

    workers.start("late")
    job = await wait_for_job(client, tenant.headers, job_id, within=20)

    assert job["status"] == "succeeded", job
    assert len(emu.requests(contains=text)) == 1
    row = await job_row(job_id)
    # Handed back uncalled, then run once. The beat queued reaper runs while no worker was up;
    # when one of them reaches the job before the hand-back it finds it queued past the requeue
    # age and sends a copy, which is handed back uncalled too (not admitted): a third delivery.
    assert row.attempts == 1 and row.deliveries in (2, 3)
    readmitted_at = redis.zscore(requests_log, job_id)
    redis.close()
    window_ms = (settings.limit_window_seconds + settings.limit_window_margin_seconds) * 1000
    assert readmitted_at is not None and readmitted_at > admitted_at + window_ms
