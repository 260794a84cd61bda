"""Helpers for tests of limits and batches: set a company's limits, read the emulator's timeline."""

from typing import Any

from shared.auth.cache import announce_tenancy_change
from shared.companies.limits import set_limits
from shared.config import get_settings
from shared.db import create_engine, create_sessionmaker


async def limit_company(company_id: str, **limits: int | None) -> None:
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            values = {"rpm": None, "tpm": None, "concurrency": None, "max_queued": None, **limits}
            await set_limits(session, company_id, **values)
    finally:
        await engine.dispose()
    await announce_tenancy_change(get_settings())


def most_in_any_window(
    calls: list[dict[str, Any]], window: float, weight: str | None = None
) -> float:
    """The largest count (or sum of `weight`) of calls received within any `window` seconds."""
    times = sorted(
        (c["receivedAt"], (c["inputTokens"] + c["outputTokens"]) if weight else 1) for c in calls
    )
    best, total, start = 0.0, 0.0, 0
    for end in range(len(times)):
        total += times[end][1]
        while times[end][0] - times[start][0] >= window:
            total -= times[start][1]
            start += 1
        best = max(best, total)
    return best
