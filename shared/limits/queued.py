"""The queued-jobs cap, checked without counting a company's whole queue on every request.

`COUNT(*)` of a company's queued jobs grows with its backlog; run on every async execute it made
admission slower the more work was waiting. Each API process keeps the last exact count per
company together with the admissions it made since, and counts again once that reading is a
second old or the estimate comes within a tenth of the cap. Far below the cap a request costs no
query; near it every request counts exactly, so the cap still holds there (other processes'
admissions of the last second are what the slack covers).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.limits.service import queued_count

FRESH_SECONDS = 1.0
SLACK = 0.1


class QueuedGauge:
    def __init__(self, count: Callable[[str], Awaitable[int]]) -> None:
        self._count = count
        self._readings: dict[str, tuple[float, int]] = {}  # company -> (read at, estimate)
        self._counting: dict[str, asyncio.Future[None]] = {}  # one count at a time per company

    async def take(self, company_id: str, cap: int) -> bool:
        """Count one more queued job for the company if the cap allows it."""
        reading = self._readings.get(company_id)
        if (
            reading is None
            or time.monotonic() - reading[0] > FRESH_SECONDS
            or reading[1] >= cap * (1 - SLACK)
        ):
            await self._recount(company_id)
        # From here to the update nothing awaits: concurrent takers see each other's increments.
        read_at, estimate = self._readings[company_id]
        if estimate >= cap:
            return False
        self._readings[company_id] = (read_at, estimate + 1)
        return True

    async def _recount(self, company_id: str) -> None:
        """Concurrent requests share one count: 64 requests finding the reading stale at once
        must not send 64 COUNTs of the same queue (measured: a fifth of the API's time)."""
        counting = self._counting.get(company_id)
        if counting is None:
            counting = asyncio.ensure_future(self._read(company_id))
            self._counting[company_id] = counting
            counting.add_done_callback(lambda _: self._counting.pop(company_id, None))
        await asyncio.shield(counting)

    async def _read(self, company_id: str) -> None:
        count = await self._count(company_id)
        if len(self._readings) > 100_000:  # one entry per active company; forget idle ones
            self._readings.clear()
        self._readings[company_id] = (time.monotonic(), count)


async def count_queued(sessionmaker: async_sessionmaker[AsyncSession], company_id: str) -> int:
    async with sessionmaker() as session:
        return await queued_count(session, company_id)
