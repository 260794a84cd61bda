"""Job-finished notifications over Redis pub/sub, so a waiting API request wakes at once.

A notification carries the outcome as written when it is small (`INLINE_OUTCOME_MAX_BYTES`
encoded): the waiting request answers from it instead of reading the job back, a database round
trip less on every synchronous execute. Every API process receives every notification, so a
larger outcome travels as the bare id and its request reads the job, as does a cancellation's.
"""

from dataclasses import dataclass

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.config import Settings
from shared.jobs.lifecycle import Outcome

INLINE_OUTCOME_MAX_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class JobDone:
    job_id: str
    outcome: Outcome | None  # None: read the job from the database


def job_events_channel(settings: Settings) -> str:
    return settings.key("job-events")


def encode(job_id: str, outcome: Outcome | None = None) -> bytes:
    if outcome is not None:
        message = orjson.dumps({"id": job_id, "outcome": outcome})
        if len(message) <= INLINE_OUTCOME_MAX_BYTES:
            return message
    return orjson.dumps({"id": job_id})


def decode(data: bytes) -> JobDone:
    """A notification; a bare job id (what versions before the outcome was inlined sent, during
    a rolling upgrade) reads as one without its outcome."""
    if not data.startswith(b"{"):
        return JobDone(data.decode(), None)
    message = orjson.loads(data)
    outcome = message.get("outcome")
    return JobDone(message["id"], None if outcome is None else Outcome(**outcome))


async def publish_job_done(redis: Redis, settings: Settings, job_id: str) -> None:
    await redis.publish(job_events_channel(settings), encode(job_id))


def queue_jobs_done(pipe: Pipeline, settings: Settings, done: list[tuple[str, Outcome]]) -> None:
    """Add the notifications of finished jobs to the caller's pipeline (one round trip for
    everything a worker does after an outcome write)."""
    channel = job_events_channel(settings)
    for job_id, outcome in done:
        pipe.publish(channel, encode(job_id, outcome))
