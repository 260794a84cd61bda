"""Job-finished notifications over Redis pub/sub, so a waiting API request wakes at once."""

from redis.asyncio import Redis

from shared.config import Settings


def job_events_channel(settings: Settings) -> str:
    return settings.key("job-events")


async def publish_job_done(redis: Redis, settings: Settings, job_id: str) -> None:
    await redis.publish(job_events_channel(settings), job_id)
