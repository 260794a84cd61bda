"""Per-process cache of what every request needs about its tenant: the key's company and limits.

Looking a key up in PostgreSQL costs more than the rest of a small request. Each API process keeps
the answers in memory, stamped with a *tenancy epoch* held in Redis: revoking a key or changing a
company's limits bumps the epoch after its commit, and the next request of every process sees the
new epoch (one Redis GET, far cheaper than the database query) and starts from an empty cache. So
a revocation takes effect at once, not after a TTL. Requests that arrive while a GET is on its way
share its answer rather than sending their own (one GET per request was an eighth of the API's CPU
under the CRUD benchmark); so a request may be answered under the epoch read by a GET sent just
before it arrived, never an older one. Only successful lookups are cached (an unknown
key always reaches the database, and a new key works at once). If Redis does not answer, the cache
is bypassed rather than trusted.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog
from redis.asyncio import Redis

from shared.config import Settings

logger = structlog.get_logger(__name__)

T = TypeVar("T")
MAX_ENTRIES = 50_000
ENTRY_SECONDS = 300.0  # hygiene only: correctness comes from the epoch


def epoch_key(settings: Settings) -> str:
    return settings.key("tenancy-epoch")


async def announce_tenancy_change(settings: Settings) -> None:
    """Call after committing a key revocation or a limits change: every API process re-reads."""
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.incr(epoch_key(settings))
    finally:
        await redis.aclose()


class EpochCache(Generic[T]):
    """Values by key, valid while the tenancy epoch they were read under is current."""

    def __init__(self, redis: Redis, settings: Settings, name: str) -> None:
        self._redis = redis
        self._key = epoch_key(settings)
        self._name = name
        self._epoch: bytes | None = None
        self._entries: dict[str, tuple[float, T]] = {}
        self._reading: asyncio.Future[bytes | None] | None = None

    async def _current_epoch(self) -> bytes | None:
        reading = self._reading
        if reading is None or reading.get_loop() is not asyncio.get_running_loop():
            reading = self._reading = asyncio.ensure_future(self._read_epoch())
            reading.add_done_callback(self._read_done)
        # Shielded: one waiter's cancellation must not cancel the read the others share.
        return await asyncio.shield(reading)

    def _read_done(self, reading: "asyncio.Future[bytes | None]") -> None:
        if self._reading is reading:
            self._reading = None

    async def _read_epoch(self) -> bytes | None:
        try:
            epoch = await self._redis.get(self._key)
        except Exception as exc:  # no epoch, no trust: read from the database
            logger.warning("tenancy epoch unavailable", cache=self._name, error=type(exc).__name__)
            return None
        if isinstance(epoch, str):  # a client set to decode responses
            epoch = epoch.encode()
        epoch = epoch or b"0"
        if epoch != self._epoch:
            self._entries.clear()
            self._epoch = epoch
        return epoch

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or `load()`'s (which may raise; failures are not cached)."""
        epoch = await self._current_epoch()
        if epoch is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > time.monotonic():
                return entry[1]
        value = await load()
        if epoch is not None and epoch == self._epoch:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + ENTRY_SECONDS, value)
        return value
