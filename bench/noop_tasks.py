"""Baseline (c): a bare Celery no-op task on the bench's Redis prefix, drained by one worker.

The worker runs with the product's defaults (threads pool, acks_late, prefetch 1, no results), so
its drain rate is the engine ceiling the pipeline is compared with.
`celery -A bench.noop_tasks worker --pool threads -Q <prefix>.noop`
"""

import os

from celery import Celery

PREFIX = os.environ["REDIS_KEY_PREFIX"]
QUEUE = f"{PREFIX}.noop"
KEY_PREFIX = f"{PREFIX}:noop:"

app = Celery("bench-noop", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"global_keyprefix": KEY_PREFIX},
)


@app.task(name="noop.run")
def noop() -> None:
    """Does nothing: the drain rate is Celery's and Redis's cost per task."""


def enqueue(count: int) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task("noop.run", queue=QUEUE, producer=producer)
