"""Celery tasks of the jobs domain. Arguments are job ids only; PostgreSQL holds everything else."""

import asyncio
import contextlib
from datetime import timedelta

from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from shared.db import unit_of_work
from shared.jobs.dispatch import Round, dispatch_round, lock_key, wake_dispatcher, wake_key
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
from workers.jobs.pipeline import FollowUps, execute_chunk
from workers.runtime import Runtime, runtime

# One dispatch task runs rounds for this long, then hands over to a fresh task (so a worker's
# shutdown, a deploy or a crash never strands the fleet's dispatching for longer).
DISPATCH_BUDGET_SECONDS = 10.0
# The lock is renewed every round; a dispatcher killed mid-round frees it this soon. A round
# slower than this (a starved machine) loses the lock, and its task ends at once.
DISPATCH_LOCK_SECONDS = 10.0
# Between rounds the dispatcher waits for a wake-up (a finished chunk, new work) at most this long:
# limits that refused a company free up with time, not with an event.
DISPATCH_IDLE_SECONDS = 0.25
# Rounds start at least this far apart. Under load every finished chunk wakes the dispatcher, and
# back-to-back rounds each handed out a few freed slots for a full round's statements (12-17% of
# a worker's event loop in a batch drain, py-spy). The jobs handed out beyond the workers' calls
# (DISPATCH_MAX_IN_FLIGHT above WORKER_MAX_CALLS) cover the gap.
DISPATCH_GAP_SECONDS = 0.05


def _send(follow_ups: FollowUps) -> None:
    """Interactive jobs go straight to a worker; other kinds go through the dispatcher."""
    send_jobs(
        app, settings, [(job_id, kind) for job_id, kind in follow_ups if kind == "interactive"]
    )
    if any(kind != "interactive" for _, kind in follow_ups):
        request_dispatch(app, settings)


@app.task(name=EXECUTE_TASK)
def execute(job_id: str, admitted_before: float | None = None) -> None:
    """Run one job. Safe to deliver twice: the claim lets only one delivery write an outcome.

    `admitted_before`: sent by the API for a synchronous job its limiter admitted (see
    `shared.queueing.execute_message`), whose row may still be on its way; absent when the
    reaper or a finished turn sends the job."""
    rt = runtime()
    _send(rt.run(execute_chunk(rt, [job_id], urgent=True, admitted_before=admitted_before)))


@app.task(name=EXECUTE_MANY_TASK)
def execute_many(job_ids: list[str]) -> None:
    """Run a chunk of asynchronous jobs or batch items concurrently on the process's event loop."""
    rt = runtime()
    _send(rt.run(execute_chunk(rt, job_ids)))


async def _send_round(result: Round) -> None:
    size = settings.dispatch_chunk_size
    chunks = [
        (kind, ids[i : i + size]) for kind, ids in result.chunks for i in range(0, len(ids), size)
    ]
    await asyncio.to_thread(send_chunks, app, settings, chunks)


async def _dispatch(rt: Runtime) -> int:
    """Dispatch rounds by one dispatcher at a time across the fleet, each as soon as a chunk
    finishes or new work arrives (a wake-up in Redis), for up to the budget."""
    lock = Lock(rt.redis, lock_key(settings), timeout=DISPATCH_LOCK_SECONDS, blocking=False)
    if not await lock.acquire():
        await wake_dispatcher(rt.redis, settings)  # the running one takes this request
        return 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DISPATCH_BUDGET_SECONDS
    sent, waiting = 0, False
    try:
        while not rt.stopping:
            started = loop.time()
            async with unit_of_work(rt.sessionmaker) as session:
                result = await dispatch_round(session, rt.limiter, settings)
            await _send_round(result)
            sent += len(result.granted)
            waiting = result.waiting_companies > 0
            left = deadline - loop.time()
            if left <= 0 or not (waiting or await rt.redis.lpop(wake_key(settings))):
                break  # hand over, or nothing waits (new work will start a dispatcher)
            await rt.redis.blpop([wake_key(settings)], timeout=min(DISPATCH_IDLE_SECONDS, left))
            await asyncio.sleep(max(0.0, started + DISPATCH_GAP_SECONDS - loop.time()))
            try:
                await lock.reacquire()
            except LockError:  # it expired: another dispatcher may run now, so this one stops
                waiting = False
                break
    finally:
        with contextlib.suppress(LockError):  # it expired during a long round: nothing to free
            await lock.release()
    if waiting and not rt.stopping:
        await asyncio.to_thread(request_dispatch, app, settings)  # the next dispatcher goes on
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
