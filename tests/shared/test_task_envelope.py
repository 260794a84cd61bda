"""The API's task messages, written to Redis without kombu, are the messages kombu writes.

`push_jobs` builds the transport envelope itself (`shared.queueing.task_envelope`); if kombu's
Redis transport changed its format, workers would stop understanding the API. Both kinds of
message go into a queue no worker reads, and are compared field by field, ids aside.
"""

import base64
import uuid

import orjson
import pytest
from redis.asyncio import Redis

from shared.queueing import (
    Queue,
    broker_queue_key,
    make_celery,
    push_jobs,
    send_jobs,
    task_envelope,
)

TASK_IDS = {"id", "root_id", "correlation_id"}


@pytest.fixture
def unread(settings):  # type: ignore[no-untyped-def]
    """Settings whose queues no worker of this run consumes (keys under the run's prefix)."""
    return settings.model_copy(
        update={"redis_key_prefix": f"{settings.redis_key_prefix}-envelope-{uuid.uuid4().hex[:6]}"}
    )


def _opened(raw: bytes) -> dict:
    message = orjson.loads(raw)
    message["body"] = orjson.loads(base64.b64decode(message["body"]))
    message["headers"] = {k: v for k, v in message["headers"].items() if k not in TASK_IDS}
    message["properties"] = {
        k: v
        for k, v in message["properties"].items()
        if k not in TASK_IDS | {"delivery_tag", "reply_to"}
    }
    return message


async def test_a_pushed_job_is_the_message_celery_sends(unread):
    app = make_celery(unread)
    redis = Redis.from_url(unread.redis_url)
    key = broker_queue_key(unread, Queue.interactive)
    try:
        send_jobs(app, unread, [("job-1", "interactive")])
        await push_jobs(redis, app, unread, [("job-1", "interactive")])
        by_kombu, ours = await redis.rpop(key), await redis.rpop(key)
        assert await redis.llen(key) == 0
    finally:
        await redis.delete(key)
        await redis.aclose()
        app.close()

    assert _opened(ours) == _opened(by_kombu)
    assert _opened(ours)["body"][0] == ["job-1"]
    assert _opened(ours)["properties"]["delivery_info"] == {
        "exchange": "",
        "routing_key": f"{unread.redis_key_prefix}.interactive",
    }


async def test_each_job_goes_to_its_kinds_queue_with_its_own_ids(unread):
    app = make_celery(unread)
    redis = Redis.from_url(unread.redis_url)
    keys = {queue: broker_queue_key(unread, queue) for queue in (Queue.interactive, Queue.default)}
    try:
        await push_jobs(redis, app, unread, [("job-a", "interactive"), ("job-b", "async")])
        interactive = orjson.loads(await redis.rpop(keys[Queue.interactive]))
        default = orjson.loads(await redis.rpop(keys[Queue.default]))
    finally:
        await redis.delete(*keys.values())
        await redis.aclose()
        app.close()

    assert orjson.loads(base64.b64decode(interactive["body"]))[0] == ["job-a"]
    assert orjson.loads(base64.b64decode(default["body"]))[0] == ["job-b"]
    assert interactive["headers"]["id"] != default["headers"]["id"]
    assert interactive["properties"]["delivery_tag"] != default["properties"]["delivery_tag"]


def test_an_envelope_names_the_task_and_its_queue(settings):
    app = make_celery(settings)
    message = orjson.loads(task_envelope(app, settings, "jobs.execute", ["j"], Queue.batch))
    app.close()

    assert message["headers"]["task"] == "jobs.execute"
    assert message["headers"]["id"] == message["properties"]["correlation_id"]
    assert (
        message["properties"]["delivery_info"]["routing_key"]
        == f"{settings.redis_key_prefix}.batch"
    )


async def test_an_admission_time_travels_as_the_tasks_keyword_argument(unread):
    app = make_celery(unread)
    redis = Redis.from_url(unread.redis_url)
    key = broker_queue_key(unread, Queue.interactive)
    try:
        app.send_task(
            "jobs.execute",
            args=["job-1"],
            kwargs={"admitted_before": 1_765_000_000.25},
            queue=f"{unread.redis_key_prefix}.interactive",
        )
        await push_jobs(
            redis, app, unread, [("job-1", "interactive")], admitted_before=1_765_000_000.25
        )
        by_kombu, ours = await redis.rpop(key), await redis.rpop(key)
    finally:
        await redis.delete(key)
        await redis.aclose()
        app.close()

    assert _opened(ours) == _opened(by_kombu)
    args, kwargs, _ = _opened(ours)["body"]
    assert (args, kwargs) == (["job-1"], {"admitted_before": 1_765_000_000.25})
