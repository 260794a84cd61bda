"""The Celery configuration both sides share, and the queue names.

The API only sends tasks by name through this app; it never imports the workers' code. Task
arguments are job ids only, so no prompt, input or secret ever travels through the broker or
shows in Flower.
"""

import base64
import uuid
from dataclasses import dataclass
from enum import StrEnum

import orjson
from celery import Celery
from redis.asyncio import Redis

from shared.config import Settings

EXECUTE_TASK = "jobs.execute"
EXECUTE_MANY_TASK = "jobs.execute_many"
DISPATCH_TASK = "jobs.dispatch"
REAP_TASK = "jobs.reap"


class Queue(StrEnum):
    interactive = "interactive"  # synchronous execute: someone is waiting
    default = "default"  # asynchronous execute (chunks of jobs)
    batch = "batch"  # batch items (chunks of items)
    maintenance = "maintenance"  # recovery sweeps


def queue_name(settings: Settings, queue: Queue) -> str:
    return f"{settings.redis_key_prefix}.{queue.value}"


def broker_key_prefix(settings: Settings) -> str:
    """Kombu's `global_keyprefix`: every broker key (queue lists, unacked, pidbox) starts with it."""
    return f"{settings.redis_key_prefix}:celery:"


def broker_queue_key(settings: Settings, queue: Queue) -> str:
    """The Redis list holding the queue's waiting messages (what LLEN, KEDA and Flower count)."""
    return broker_key_prefix(settings) + queue_name(settings, queue)


def make_celery(settings: Settings, *, include: list[str] | None = None) -> Celery:
    app = Celery("assistants", broker=settings.broker_url, include=include or [])
    app.conf.update(
        task_default_queue=queue_name(settings, Queue.default),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        result_backend=None,
        # At-least-once: acknowledge after the task ran; a lost worker's message comes back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Only a backstop: the reaper re-queues a dead worker's job from PostgreSQL long
            # before this, and a duplicate delivery is harmless (jobs are claimed with a fence).
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            "global_keyprefix": broker_key_prefix(settings),
        },
        # Flower needs task events; they carry task names and job ids only. Workers send them
        # (RECEIVED onwards); the senders don't (no SENT state): that event was one more Redis
        # publish inside every execute request and every dispatcher chunk.
        worker_send_task_events=True,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        beat_schedule={
            "dispatch-jobs": {
                "task": DISPATCH_TASK,
                "schedule": settings.dispatch_interval_seconds,
                "options": {"queue": queue_name(settings, Queue.maintenance), "expires": 5},
            },
            "reap-jobs": {
                "task": REAP_TASK,
                "schedule": settings.reaper_interval_seconds,
                "options": {"queue": queue_name(settings, Queue.maintenance), "expires": 60},
            },
        },
        beat_schedule_filename=f"/tmp/{settings.redis_key_prefix}-celerybeat-schedule",
    )
    return app


KIND_QUEUE = {"interactive": Queue.interactive, "async": Queue.default, "batch": Queue.batch}


def send_jobs(app: Celery, settings: Settings, jobs: list[tuple[str, str]]) -> None:
    """Send `jobs.execute` for each (job id, kind), over one pooled producer connection.

    Call only after the jobs' transaction committed: a task must never find its row missing.
    """
    if not jobs:
        return
    with app.producer_or_acquire() as producer:
        for job_id, kind in jobs:
            app.send_task(
                EXECUTE_TASK,
                args=[job_id],
                queue=queue_name(settings, KIND_QUEUE.get(kind, Queue.default)),
                producer=producer,
            )


def send_chunks(app: Celery, settings: Settings, chunks: list[tuple[str, list[str]]]) -> None:
    """Asynchronous jobs and batch items travel several to a task, (kind, job ids), each kind on
    its own queue: Celery's per-task cost must not limit their rate."""
    if not chunks:
        return
    with app.producer_or_acquire() as producer:
        for kind, job_ids in chunks:
            app.send_task(
                EXECUTE_MANY_TASK,
                args=[job_ids],
                queue=queue_name(settings, KIND_QUEUE.get(kind, Queue.default)),
                producer=producer,
            )


def request_dispatch(app: Celery, settings: Settings) -> None:
    app.send_task(DISPATCH_TASK, queue=queue_name(settings, Queue.maintenance), expires=30)


def task_envelope(
    app: Celery,
    settings: Settings,
    name: str,
    args: list[str],
    queue: Queue,
    kwargs: dict[str, object] | None = None,
) -> bytes:
    """A task message as kombu's Redis transport stores it in the queue's list.

    Celery builds the message (its task protocol 2, `as_task_v2`); this adds kombu's transport
    envelope that `Producer.publish` would: the body in base64, a delivery tag, the delivery info
    of the default exchange (the routing key is the queue) and the default priority, which is
    stored in the queue's own list. tests/shared/test_task_envelope.py holds it equal to what
    kombu writes for the same task.
    """
    task_id = str(uuid.uuid4())
    # `ignore_result=None` as `send_task` sends it: the task's own setting decides.
    headers, properties, body, _ = app.amqp.as_task_v2(
        task_id, name, args=args, kwargs=kwargs, ignore_result=None
    )
    return orjson.dumps(
        {
            "body": base64.b64encode(orjson.dumps(body)).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                **properties,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue_name(settings, queue)},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A task message for one job and the Redis list of its queue, ready for LPUSH."""

    job_id: str
    key: str
    body: bytes


def execute_message(
    app: Celery,
    settings: Settings,
    job_id: str,
    kind: str,
    admitted_before: float | None = None,
) -> QueuedMessage:
    """`jobs.execute` for one job, as `push_jobs` sends it. `admitted_before`: for a job the
    limiter admitted in this request, the API's clock (Unix seconds) read before it asked the
    limiter; the task's argument of that name, with which the worker may skip its re-stamp. A
    message that carries it may reach the worker before the job's row is committed (the API
    sends a synchronous job's message with its admission, `shared.jobs.service.admit_fresh`),
    and the worker waits for the row a while."""
    queue = KIND_QUEUE.get(kind, Queue.default)
    kwargs: dict[str, object] | None = (
        None if admitted_before is None else {"admitted_before": admitted_before}
    )
    return QueuedMessage(
        job_id,
        broker_queue_key(settings, queue),
        task_envelope(app, settings, EXECUTE_TASK, [job_id], queue, kwargs),
    )


async def push_jobs(
    redis: Redis,
    app: Celery,
    settings: Settings,
    jobs: list[tuple[str, str]],
    admitted_before: float | None = None,
) -> None:
    """`send_jobs` from an event loop: the same messages (`execute_message`), one pipelined
    LPUSH per job, on `redis`, the broker's.

    Why not `send_jobs` in a thread: kombu's producer is blocking, and the hop to a thread and
    back plus its publish cost the API 0.6-0.8 ms per job against 0.2 ms for this (a loop of
    1,000 sends each, one connection), on the path of every synchronous request. Call only after
    the jobs' transaction committed.
    """
    if not jobs:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for job_id, kind in jobs:
            message = execute_message(app, settings, job_id, kind, admitted_before)
            pipe.lpush(message.key, message.body)
        await pipe.execute()
