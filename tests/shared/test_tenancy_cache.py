"""The per-process tenancy cache against a real Redis: hits, epoch invalidation, failures."""

import asyncio

import pytest
from redis.asyncio import Redis

from shared.auth.cache import EpochCache, announce_tenancy_change


class Loader:
    def __init__(self, value: str = "principal") -> None:
        self.calls = 0
        self.value = value

    async def __call__(self) -> str:
        self.calls += 1
        return self.value


async def test_a_value_is_loaded_once_while_the_epoch_stands(settings):
    redis = Redis.from_url(settings.redis_url)
    cache: EpochCache[str] = EpochCache(redis, settings, "test")
    load = Loader()

    values = [await cache.get_or_load("key:a", load) for _ in range(3)]

    assert values == ["principal"] * 3 and load.calls == 1
    await redis.aclose()


async def test_an_announced_change_makes_every_process_reload(settings):
    redis = Redis.from_url(settings.redis_url)
    caches = [EpochCache(redis, settings, f"process-{i}") for i in range(2)]
    load = Loader()
    for cache in caches:
        await cache.get_or_load("key:a", load)
    assert load.calls == 2

    await announce_tenancy_change(settings)
    for cache in caches:
        await cache.get_or_load("key:a", load)

    assert load.calls == 4
    await redis.aclose()


async def test_a_failed_load_is_not_cached(settings):
    redis = Redis.from_url(settings.redis_url)
    cache: EpochCache[str] = EpochCache(redis, settings, "test")
    attempts = 0

    async def unknown_then_known() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise LookupError("unknown key")
        return "principal"

    with pytest.raises(LookupError):
        await cache.get_or_load("key:a", unknown_then_known)

    assert await cache.get_or_load("key:a", unknown_then_known) == "principal"
    assert attempts == 2
    await redis.aclose()


async def test_without_redis_every_lookup_reaches_the_source(settings):
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache: EpochCache[str] = EpochCache(unreachable, settings, "test")
    load = Loader()

    for _ in range(3):
        assert await cache.get_or_load("key:a", load) == "principal"

    assert load.calls == 3
    await unreachable.aclose()


class CountingRedis(Redis):
    """The real client against the real server, counting the epoch reads it sends."""

    gets = 0

    async def get(self, name):  # type: ignore[no-untyped-def, override]
        type(self).gets += 1
        return await super().get(name)


async def test_requests_arriving_together_share_one_epoch_read(settings):
    redis = CountingRedis.from_url(settings.redis_url)
    cache: EpochCache[str] = EpochCache(redis, settings, "test")
    load = Loader()
    await cache.get_or_load("key:a", load)
    before = CountingRedis.gets

    values = await asyncio.gather(*(cache.get_or_load("key:a", load) for _ in range(16)))

    assert values == ["principal"] * 16 and load.calls == 1
    assert CountingRedis.gets - before == 1
    await announce_tenancy_change(settings)
    await cache.get_or_load("key:a", load)  # the next request reads again, and sees the change
    assert CountingRedis.gets - before == 2 and load.calls == 2
    await redis.aclose()


async def test_a_cancelled_request_does_not_cancel_the_read_others_wait_for(settings):
    redis = Redis.from_url(settings.redis_url)
    cache: EpochCache[str] = EpochCache(redis, settings, "test")
    load = Loader()
    first = asyncio.create_task(cache.get_or_load("key:a", load))
    second = asyncio.create_task(cache.get_or_load("key:a", load))
    await asyncio.sleep(0)  # both are waiting on the same read
    first.cancel()

    assert await second == "principal"
    with pytest.raises(asyncio.CancelledError):
        await first
    await redis.aclose()
