"""Task events leave the worker in batches on a timer (workers/consumer.py), not one message each
as they happen, and none is lost: every job's task is received, started and succeeded."""

import asyncio
import base64
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from shared.config import get_settings
from tests.factories import create_assistant
from tests.pipeline.helpers import execute

pytestmark = pytest.mark.usefixtures("worker")

JOBS = 5
STATES = {"task-received", "task-started", "task-succeeded"}


def _events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of one message on Celery's event exchange (kombu's Redis envelope)."""
    envelope = json.loads(message["data"])
    body = envelope["body"]
    if envelope["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    events = json.loads(body)
    return events if isinstance(events, list) else [events]


async def test_task_events_arrive_batched_and_complete(client, tenant):
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.psubscribe(f"{settings.redis_key_prefix}:celery:*celeryev/task.*")
    try:
        assistant = await create_assistant(client, tenant)
        job_ids = []
        for i in range(JOBS):
            response = await execute(client, tenant, assistant["id"], userInput=f"hi {i}")
            assert response.status_code == 200, response.text
            job_ids.append(response.json()["jobId"])

        messages: list[list[dict[str, Any]]] = []
        seen: dict[str, set[str]] = {job_id: set() for job_id in job_ids}
        job_of_task: dict[str, str] = {}  # only task-received carries the arguments
        deadline = asyncio.get_running_loop().time() + 10
        while any(states != STATES for states in seen.values()):
            assert asyncio.get_running_loop().time() < deadline, seen
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is None:
                continue
            events = _events(message)
            messages.append(events)
            for event in events:
                if event["type"] == "task-received":
                    for job_id in job_ids:
                        if job_id in event.get("args", ""):
                            job_of_task[event["uuid"]] = job_id
                if event.get("uuid") in job_of_task:
                    seen[job_of_task[event["uuid"]]].add(event["type"])
    finally:
        await pubsub.aclose()
        await redis.aclose()
    events_sent = sum(len(events) for events in messages)
    # Celery's own consumer publishes each of a job's three events in a message of its own.
    assert len(messages) < events_sent, [len(events) for events in messages]
