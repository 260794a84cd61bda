"""Helpers for pipeline tests: execute calls, waiting on the emulator, reading rows directly."""

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emulator.testing import EmulatorProcess
from shared.models import Job, UsageRecord
from tests.factories import Tenant, in_transaction

ASYNC = {"Prefer": "respond-async"}
# One model of each provider: tests that must hold for all three run once per pair.
PROVIDERS = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-flash"),
]


def unique(label: str) -> str:
    """An input no other test sends, so the emulator's record can be filtered by it."""
    return f"{label} {uuid.uuid4().hex[:10]}"


async def execute(
    client: httpx.AsyncClient,
    tenant: Tenant,
    assistant_id: str,
    *,
    respond_async: bool = False,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    """POST /execute with a camelCase body; `Prefer: respond-async` when asked."""
    return await client.post(
        f"/api/assistants/{assistant_id}/execute",
        json=body,
        headers={**tenant.headers, **(ASYNC if respond_async else {}), **(headers or {})},
    )


async def wait_for_request(
    emu: EmulatorProcess, contains: str, count: int = 1, within: float = 15
) -> list[dict[str, Any]]:
    """The emulator's record once it holds `count` requests containing `contains`."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        calls = emu.requests(contains=contains)
        if len(calls) >= count:
            return calls
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"emulator saw {len(calls)} requests with {contains!r}")
        await asyncio.sleep(0.05)


async def job_row(job_id: str) -> Job:
    async def work(session: AsyncSession) -> Job:
        job = await session.get(Job, job_id)
        assert job is not None
        return job

    return await in_transaction(work)


async def usage_rows(job_ids: list[str]) -> list[UsageRecord]:
    async def work(session: AsyncSession) -> list[UsageRecord]:
        rows = await session.execute(select(UsageRecord).where(UsageRecord.job_id.in_(job_ids)))
        return list(rows.scalars())

    return await in_transaction(work)


async def usage_count(job_id: str) -> int:
    async def work(session: AsyncSession) -> int:
        query = select(func.count()).where(UsageRecord.job_id == job_id)
        return (await session.execute(query)).scalar_one()

    return await in_transaction(work)
