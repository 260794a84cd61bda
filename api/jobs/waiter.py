"""Wakes requests waiting for a job, from one Redis pub/sub subscription per API process.

A request registers its future *before* the job is enqueued, so a notification can never arrive
unseen; the listener reconnects after Redis hiccups (a missed wake-up just ends in a 202). The
future's result is the job's outcome when the notification carried it (`shared.notifications`).
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator

import structlog
from redis.asyncio import Redis

from shared.jobs.lifecycle import Outcome
from shared.notifications import JobDone, decode

logger = structlog.get_logger(__name__)


class JobWaiter:
    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._waiting: defaultdict[str, set[asyncio.Future[Outcome | None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="job-waiter")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        try:
                            done = decode(message["data"])
                        except (ValueError, KeyError, TypeError):
                            logger.warning("job waiter skipped a malformed notification")
                            continue
                        self._wake(done)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: resubscribe after a pause
                logger.warning("job waiter lost its subscription", error=type(exc).__name__)
                await asyncio.sleep(1)

    def _wake(self, done: JobDone) -> None:
        for future in self._waiting.pop(done.job_id, ()):
            if not future.done():
                future.set_result(done.outcome)

    @contextlib.asynccontextmanager
    async def waiting(self, job_id: str) -> AsyncIterator[asyncio.Future[Outcome | None]]:
        future: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        self._waiting[job_id].add(future)
        try:
            yield future
        finally:
            futures = self._waiting.get(job_id)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    self._waiting.pop(job_id, None)
