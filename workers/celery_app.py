"""The Celery application: `celery -A workers.celery_app worker --pool threads`."""

from celery import signals

from shared.config import get_settings
from shared.logs import configure_logging
from shared.queueing import make_celery
from workers import runtime as runtime_module

settings = get_settings()
app = make_celery(settings, include=["workers.jobs.tasks"])
app.conf.worker_concurrency = settings.worker_concurrency
app.conf.worker_pool = "threads"


@signals.worker_process_init.connect
def _fresh_runtime_in_child(**_: object) -> None:
    runtime_module.reset_after_fork()


@signals.setup_logging.connect
def _logging(**_: object) -> None:
    configure_logging(settings)


@signals.worker_shutdown.connect
def _close_runtime(**_: object) -> None:
    if runtime_module._runtime is not None:
        runtime_module._runtime.close()
