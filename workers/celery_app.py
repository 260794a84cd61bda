"""The Celery application: `celery -A workers.celery_app worker --pool threads`."""

import structlog
from celery import signals

from shared.config import get_settings
from shared.heap import freeze_startup_heap
from shared.logs import configure_logging
from shared.queueing import make_celery
from workers import metrics
from workers import runtime as runtime_module
from workers.consumer import BatchedEventsConsumer
from workers.cpu_group import join_idle_cpu_group

settings = get_settings()
app = make_celery(settings, include=["workers.jobs.tasks"])
app.conf.worker_concurrency = settings.worker_concurrency
app.conf.worker_pool = "threads"
if settings.worker_task_events_flush_seconds > 0:
    BatchedEventsConsumer.flush_seconds = settings.worker_task_events_flush_seconds
    app.conf.worker_consumer = "workers.consumer:BatchedEventsConsumer"


@signals.worker_process_init.connect
def _fresh_runtime_in_child(**_: object) -> None:
    runtime_module.reset_after_fork()


@signals.setup_logging.connect
def _logging(**_: object) -> None:
    configure_logging(settings)


@signals.worker_init.connect
def _yield_cpu_to_interactive_work(**_: object) -> None:
    """At `worker_init`, before any thread of the pool starts; Celery sets up logging later."""
    if settings.worker_idle_cpu_group:
        configure_logging(settings)
        runtime_module.idle_cpu_group = join_idle_cpu_group(settings.worker_idle_cpu_group)


@signals.worker_ready.connect
def _serve_metrics(**_: object) -> None:
    metrics.start_exporter(settings.worker_metrics_port, settings.worker_metrics_address)


@signals.worker_ready.connect
def _freeze_startup_heap(**_: object) -> None:
    freeze_startup_heap()


@signals.task_prerun.connect
def _bind_task_log_context(task_id: str | None = None, task: object = None, **_: object) -> None:
    """Celery's own lines about a task carry its id; the job's lines add job and request ids."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))


@signals.task_postrun.connect
def _clear_task_log_context(**_: object) -> None:
    structlog.contextvars.clear_contextvars()


@signals.worker_shutting_down.connect
def _stop_loops(**_: object) -> None:
    if runtime_module._runtime is not None:
        runtime_module._runtime.stopping = True


@signals.worker_shutdown.connect
def _close_runtime(**_: object) -> None:
    if runtime_module._runtime is not None:
        runtime_module._runtime.close()
