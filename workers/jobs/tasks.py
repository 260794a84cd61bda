"""Celery tasks of the jobs domain. Arguments are job ids only; PostgreSQL holds everything else."""

import asyncio
import contextlib
from datetime import timedelta

from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from shared.db import unit_of_work
from shared.jobs.dispatch import dispatch_round
from shared.jobs.recovery import sweep
from shared.queueing import (
    DISPATCH_TASK,
    EXECUTE_MANY_TASK,
    EXECUTE_TASK,
    REAP_TASK,
    request_dispatch,
    send_chunks,
    send_jobs,
)
from workers.celery_app import app, settings
from workers.jobs.pipeline import FollowUps, execute_chunk, execute_job
from workers.runtime import Runtime, runtime

DISPATCH_BUDGET_SECONDS = 2.0


def _send(follow_ups: FollowUps) -> None:
    """Interactive jobs go straight to a worker; other kinds go through the dispatcher."""
    send_jobs(
        app, settings, [(job_id, kind) for job_id, kind in follow_ups if kind == "interactive"]
    )
    if any(kind != "interactive" for _, kind in follow_ups):
        request_dispatch(app, settings)


@app.task(name=EXECUTE_TASK)
def execute(job_id: str) -> None:
    """Run one job. Safe to deliver twice: the claim lets only one delivery write an outcome."""
    rt = runtime()
    _send(rt.run(execute_job(rt, job_id)))


@app.task(name=EXECUTE_MANY_TASK)
def execute_many(job_ids: list[str]) -> None:
    """Run a chunk of batch items concurrently on the process's event loop."""
    rt = runtime()

    _send(rt.run(execute_chunk(rt, job_ids)))


async def _dispatch(rt: Runtime) -> int:
    """Dispatch rounds for up to two seconds, by one dispatcher at a time across the fleet."""
    # The lock outlives a round by a little only: a worker killed while dispatching must not
    # stall the fleet's dispatching for long (a second dispatcher would be safe, just wasteful).
    lock = Lock(
        rt.redis,
        settings.key("dispatch", "lock"),
        timeout=DISPATCH_BUDGET_SECONDS + 3,
        blocking=False,
    )
    if not await lock.acquire():
        return 0
    sent = 0
    try:
        deadline = asyncio.get_running_loop().time() + DISPATCH_BUDGET_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            async with unit_of_work(rt.sessionmaker) as session:
                result = await dispatch_round(session, rt.limiter, settings)
            if not result.granted:
                break
            singles = [(job_id, kind) for job_id, kind in result.granted if kind != "batch"]
            batch = [job_id for job_id, kind in result.granted if kind == "batch"]
            size = settings.dispatch_chunk_size
            chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
            await asyncio.to_thread(send_jobs, app, settings, singles)
            await asyncio.to_thread(send_chunks, app, settings, chunks)
            sent += len(result.granted)
    finally:
        with contextlib.suppress(LockError):  # it expired during a long round: nothing to free
            await lock.release()
    return sent


@app.task(name=DISPATCH_TASK, acks_late=False)
def dispatch() -> int:
    """Hand waiting asynchronous and batch jobs to workers as their companies' limits allow."""
    rt = runtime()
    return rt.run(_dispatch(rt))


@app.task(name=REAP_TASK, acks_late=False)
def reap() -> int:
    """Re-queue jobs whose worker died or whose message was lost; returns how many."""
    rt = runtime()

    async def _sweep():  # type: ignore[no-untyped-def]
        async with unit_of_work(rt.sessionmaker) as session:
            return await sweep(session, timedelta(seconds=settings.queued_job_requeue_seconds))

    result = rt.run(_sweep())
    _send(result.requeue)
    return len(result.requeue)
