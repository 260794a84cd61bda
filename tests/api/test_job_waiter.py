"""The API's job waiter on real Redis pub/sub: it wakes the right request with what it was sent."""

import asyncio
import uuid

from redis.asyncio import Redis

from api.jobs.waiter import JobWaiter
from shared.config import get_settings
from shared.jobs.lifecycle import Outcome
from shared.notifications import encode


async def test_a_malformed_message_neither_wakes_anyone_nor_drops_the_subscription():
    redis = Redis.from_url(get_settings().redis_url)
    channel = f"{get_settings().key('test-job-events')}-{uuid.uuid4().hex}"
    waiter = JobWaiter(redis, channel)
    await waiter.start()
    try:
        outcome = Outcome(status="succeeded", response="Echo: hi", input_tokens=2, output_tokens=1)
        async with waiter.waiting("job-a") as a, waiter.waiting("job-b") as b:
            await redis.publish(channel, b"{broken")
            await redis.publish(channel, encode("job-a", outcome))
            await redis.publish(channel, encode("job-b"))
            # Well inside the second a lost subscription would pause before resubscribing.
            assert await asyncio.wait_for(a, timeout=0.8) == outcome
            assert await asyncio.wait_for(b, timeout=0.8) is None
    finally:
        await waiter.stop()
        await redis.aclose()
