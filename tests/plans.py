"""Helpers for the tests of statement plans: a migrated database of their own, and the plan a
pooled connection keeps for a prepared statement.

A database of its own because those tests ANALYZE tables and fill them with tens of thousands of
rows, which must not change other tests' plans."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.config import get_settings
from shared.database_admin import create_database_if_missing, drop_database
from shared.migrations.runner import upgrade


@asynccontextmanager
async def own_database(name: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """(its SQLAlchemy URL, an asyncpg connection to it); dropped on the way out."""
    url = f"{get_settings().database_url}_{name}_{secrets.token_hex(3)}"
    await create_database_if_missing(url)
    try:
        await asyncio.to_thread(upgrade, url)
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            yield url, connection
        finally:
            await connection.close()
    finally:
        await drop_database(url)


async def kept_plan(connection: asyncpg.Connection, sql: str, arguments: str) -> str:
    """The plan this connection runs its newest prepared `sql` with, for `arguments` (SQL
    literals): a generic plan shows its `$n` parameters."""
    name = await connection.fetchval(
        "SELECT name FROM pg_prepared_statements WHERE statement = $1"
        " ORDER BY prepare_time DESC LIMIT 1",
        sql,
    )
    rows = await connection.fetch(f"EXPLAIN EXECUTE {name}({arguments})")
    return "\n".join(row[0] for row in rows)
