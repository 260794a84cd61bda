"""The limiter's batch calls against real Redis: a prefix admitted per call, token sums kept exact."""

import time
import uuid

from redis.asyncio import Redis

from shared.config import get_settings
from shared.limits.limiter import Limiter
from shared.limits.schemas import Limits


async def test_acquire_many_admits_a_prefix_and_settle_many_books_real_tokens():
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    limiter = Limiter(redis, settings)
    company = f"limiter-{uuid.uuid4().hex}"
    limits = Limits(rpm=5, tpm=10_000, concurrency=100, max_queued=100)
    try:
        jobs = [(f"job-{i}", 1_000) for i in range(8)]
        assert await limiter.acquire_many(company, limits, jobs) == 5  # the RPM limit
        assert await limiter.acquire_many(company, limits, jobs[:5]) == 5  # already admitted
        state = await limiter.acquire(company, limits, "probe", 0, dry_run=True)
        assert (state.requests, state.tokens, state.running) == (5, 5_000, 5)

        await limiter.settle_many(company, [(job_id, 10) for job_id, _ in jobs[:5]])
        state = await limiter.acquire(company, limits, "probe", 0, dry_run=True)
        assert (state.tokens, state.running) == (50, 0)  # the running sum follows the settlement
    finally:
        keys = [k async for k in redis.scan_iter(match=f"*{company}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_restamp_moves_late_jobs_to_now_and_reports_those_that_left_the_window():
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    limiter = Limiter(redis, settings)
    company = f"limiter-{uuid.uuid4().hex}"
    requests, tokens, _, running = limiter._keys(company)
    limits = Limits(rpm=10, tpm=100_000, concurrency=10, max_queued=100)
    try:
        assert await limiter.acquire_many(company, limits, [("fresh", 10), ("late", 10)]) == 2
        fresh_stamp = await redis.zscore(requests, "fresh")
        # "late" was admitted longer ago than half the margin; "gone" a whole window ago.
        late_stamp = fresh_stamp - limiter.move_after_ms - 100
        await redis.zadd(requests, {"late": late_stamp}, xx=True)
        await redis.zadd(tokens, {"late": late_stamp}, xx=True)
        await redis.zadd(requests, {"gone": fresh_stamp - limiter.window_ms - 1})

        lost = await limiter.restamp_many(company, ["fresh", "late", "gone", "never-admitted"])

        assert lost == ["gone", "never-admitted"]
        assert await redis.zscore(requests, "fresh") == fresh_stamp  # on time: left alone
        moved = await redis.zscore(requests, "late")
        assert moved >= fresh_stamp  # now, not when it was admitted
        assert await redis.zscore(tokens, "late") == moved
        assert await redis.zscore(running, "late") == moved + limiter.lease_ms
        assert await redis.zcard(requests) == 3  # moving adds nothing to the window
    finally:
        keys = [k async for k in redis.scan_iter(match=f"*{company}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def test_a_restamp_is_skipped_only_while_the_admission_is_recent_by_a_skewed_clock(settings):
    skew = 0.25
    limiter = Limiter(
        Redis.from_url(settings.redis_url),
        settings.model_copy(
            update={"limit_window_margin_seconds": 2.0, "limit_clock_skew_seconds": skew}
        ),
    )
    move_after = limiter.move_after_ms / 1000  # half the margin: 1 s
    now = time.time()

    assert limiter.restamp_may_change(None)  # sent by the reaper or a finished turn: unknown
    assert not limiter.restamp_may_change(now)
    assert not limiter.restamp_may_change(now - (move_after - skew) + 0.1)
    # Older than `move_after` once the other host's clock may be `skew` behind: re-stamp.
    assert limiter.restamp_may_change(now - (move_after - skew) - 0.01)
    assert limiter.restamp_may_change(now - 3_600)
    # A clock ahead of ours by less than the skew still counts as recent.
    assert not limiter.restamp_may_change(now + 0.2)


async def test_acquire_sends_the_message_with_an_admission_and_never_with_a_refusal():
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    limiter = Limiter(redis, settings)
    company = f"limiter-{uuid.uuid4().hex}"
    queue = settings.key("test-queue", company)
    limits = Limits(rpm=1, tpm=100_000, concurrency=10, max_queued=100)
    try:
        probe = await limiter.acquire(
            company, limits, "probe", 10, dry_run=True, send=(queue, b"0")
        )
        assert probe.allowed and await redis.llen(queue) == 0  # a dry run sends nothing

        admitted = await limiter.acquire(company, limits, "job-1", 10, send=(queue, b"first"))
        refused = await limiter.acquire(company, limits, "job-2", 10, send=(queue, b"second"))

        assert admitted.allowed and not refused.allowed
        assert await redis.lrange(queue, 0, -1) == [b"first"]
        assert refused.requests == 1  # the refused job was not counted either
    finally:
        keys = [k async for k in redis.scan_iter(match=f"*{company}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
