"""The `lastAccessedAt` touch counter never makes an execution wait, and never loses a touch."""

import asyncio

import asyncpg

from shared.config import get_settings
from tests.factories import Tenant, create_assistant

TOUCH = "UPDATE assistants SET last_accessed_at = now() + make_interval(secs => $2) WHERE id = $1"


async def touches(connection: asyncpg.Connection, tenant: Tenant) -> int:
    return await connection.fetchval(
        "SELECT coalesce(sum(touches), 0) FROM assistant_touches WHERE company_id = $1",
        tenant.company_id,
    )


async def test_concurrent_touches_of_one_company_do_not_wait_for_each_other(client, tenant):
    ids = [(await create_assistant(client, tenant))["id"] for _ in range(3)]
    url = get_settings().sync_database_url
    holders = [await asyncpg.connect(url) for _ in range(3)]
    try:
        await holders[0].execute(TOUCH, ids[0], -60.0)  # a committed counter row to contend for
        before = await touches(holders[0], tenant)
        for seconds, (holder, assistant_id) in enumerate(zip(holders, ids, strict=True)):
            await holder.execute("BEGIN; SET LOCAL lock_timeout = '2s'")
            # Each open transaction holds the counter row it took; the next must not wait for it.
            await asyncio.wait_for(holder.execute(TOUCH, assistant_id, float(seconds)), 1.5)
        await asyncio.gather(*(holder.execute("COMMIT") for holder in holders))

        assert await touches(holders[0], tenant) == before + 3
    finally:
        await asyncio.gather(*(holder.close() for holder in holders))


async def test_a_touch_that_changes_nothing_is_not_counted(client, tenant):
    created = await create_assistant(client, tenant)
    connection = await asyncpg.connect(get_settings().sync_database_url)
    try:
        await connection.execute(
            "UPDATE assistants SET last_accessed_at = '2025-01-01Z' WHERE id = $1", created["id"]
        )
        counted = await touches(connection, tenant)
        await connection.execute(
            "UPDATE assistants SET last_accessed_at = '2025-01-01Z' WHERE id = $1", created["id"]
        )

        assert await touches(connection, tenant) == counted >= 1
    finally:
        await connection.close()
