"""The Celery configuration both sides share, and the queue names.

The API only sends tasks by name through this app; it never imports the workers' code. Task
arguments are job ids only, so no prompt, input or secret ever travels through the broker or
shows in Flower.
"""

from enum import StrEnum

from celery import Celery

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
