"""Celery tasks of the jobs domain. Arguments are job ids only; PostgreSQL holds everything else."""

from datetime import timedelta

from shared.db import unit_of_work
from shared.jobs.recovery import sweep
from shared.queueing import EXECUTE_TASK, REAP_TASK, send_jobs
from workers.celery_app import app, settings
from workers.jobs.pipeline import execute_job
from workers.runtime import runtime


@app.task(name=EXECUTE_TASK)
def execute(job_id: str) -> None:
    """Run one job. Safe to deliver twice: the claim lets only one delivery write an outcome."""
    rt = runtime()
    follow_ups = rt.run(execute_job(rt, job_id))
    send_jobs(app, settings, follow_ups)


@app.task(name=REAP_TASK, acks_late=False)
def reap() -> int:
    """Re-queue jobs whose worker died or whose message was lost; returns how many."""
    rt = runtime()

    async def _sweep():  # type: ignore[no-untyped-def]
        async with unit_of_work(rt.sessionmaker) as session:
            return await sweep(session, timedelta(seconds=settings.queued_job_requeue_seconds))

    result = rt.run(_sweep())
    send_jobs(app, settings, result.requeue)
    return len(result.requeue)
