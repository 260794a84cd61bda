"""The queued-jobs cap, checked without counting a company's whole queue on every request.

`COUNT(*)` of a company's queued jobs grows with its backlog; run on every async execute it made
admission slower the more work was waiting. Each API process keeps the last exact count per
company together with the admissions it made since, and counts again once that reading is a
second old or the estimate comes within a tenth of the cap. Far below the cap a request costs no
query; near it every request counts exactly, so the cap still holds there (other processes'
admissions of the last second are what the slack covers).
"""

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

    async def take(self, company_id: str, cap: int) -> bool:
        """Count one more queued job for the company if the cap allows it."""
        now = time.monotonic()
        reading = self._readings.get(company_id)
        if reading is None or now - reading[0] > FRESH_SECONDS or reading[1] >= cap * (1 - SLACK):
            reading = (now, await self._count(company_id))
        if reading[1] >= cap:
            self._readings[company_id] = reading
            return False
        self._readings[company_id] = (reading[0], reading[1] + 1)
        if len(self._readings) > 100_000:  # one entry per active company; forget idle ones
            self._readings.clear()
        return True


async def count_queued(sessionmaker: async_sessionmaker[AsyncSession], company_id: str) -> int:
    async with sessionmaker() as session:
        return await queued_count(session, company_id)
