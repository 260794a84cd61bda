"""Job-finished notifications over Redis pub/sub, so a waiting API request wakes at once."""

from redis.asyncio import Redis

from shared.config import Settings


def job_events_channel(settings: Settings) -> str:
    return settings.key("job-events")


async def publish_job_done(redis: Redis, settings: Settings, job_id: str) -> None:
    await redis.publish(job_events_channel(settings), job_id)


async def publish_jobs_done(redis: Redis, settings: Settings, job_ids: list[str]) -> None:
    """`publish_job_done` for several jobs in one round trip."""
    if not job_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.publish(job_events_channel(settings), job_id)
        await pipe.execute()
