"""With CELERY_BROKER_URL naming another Redis than REDIS_URL, task messages go to the broker's."""

import httpx
from redis.asyncio import Redis

from api.main import create_app
from shared.config import get_settings
from shared.queueing import Queue, broker_queue_key
from tests.factories import create_assistant

BROKER_DB = 13  # keys under this run's own prefix, deleted below


async def test_a_synchronous_jobs_message_goes_to_the_brokers_redis(tenant):
    base = get_settings()
    broker_url = base.redis_url.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    settings = base.model_copy(update={"celery_broker_url": broker_url, "sync_wait_seconds": 0.3})
    app = create_app(settings)
    broker = Redis.from_url(broker_url)
    queue = broker_queue_key(settings, Queue.interactive)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                assistant = await create_assistant(http, tenant)
                response = await http.post(
                    f"/api/assistants/{assistant['id']}/execute",
                    json={"userInput": "no worker reads this broker"},
                    headers=tenant.headers,
                )
        assert response.status_code == 202, response.text  # nobody ran it within the wait
        job_id = response.json()["id"]
        [message] = await broker.lrange(queue, 0, -1)
        assert job_id.encode() in message
    finally:
        keys = [key async for key in broker.scan_iter(match=f"{settings.redis_key_prefix}*")]
        if keys:
            await broker.delete(*keys)
        await broker.aclose()
