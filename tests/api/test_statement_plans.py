"""The API's own pool runs generic plans, made again once they are `PLAN_MAX_AGE_SECONDS` old.

A generic plan made while the assistants table is small scans it whole; the test shows that plan,
lets the table grow past it without statistics (autovacuum off, as on a busy server between its
runs) and checks that, past the plan age, the same pool finds a page's rows through the sort's
index and an assistant by primary key. In a database of its own: its ANALYZE and its 50,000
assistants must not change other tests' plans.
"""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from api.state import PLAN_MAX_AGE_SECONDS, statement_pool
from shared.assistants import bodies
from shared.assistants.schemas import SortBy, SortOrder
from shared.config import get_settings
from tests.plans import kept_plan, own_database

COMPANY = "c" * 24
FIRST = "small" + "1".zfill(19)  # the first assistant `_add_assistants` writes
LIST = bodies.list_sql(SortBy.created_at, SortOrder.desc, by_team=False)


@pytest.fixture
async def small() -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A database of its own with three assistants, analyzed, and never analyzed again."""
    async with own_database("plans") as (url, connection):
        await connection.execute(
            f"""ALTER TABLE assistants SET (autovacuum_enabled = false);
                INSERT INTO companies (id, name, created_at) VALUES ('{COMPANY}', 'plans', now())"""
        )
        await _add_assistants(connection, "small", 3)
        await connection.execute("ANALYZE assistants")
        yield url, connection


async def _add_assistants(connection: asyncpg.Connection, prefix: str, count: int) -> None:
    await connection.execute(
        f"""INSERT INTO assistants (id, company_id, name, llm_provider, llm_model, llm_prompt,
                                    created_at, updated_at)
            SELECT $1 || lpad(i::text, 24 - length($1), '0'), '{COMPANY}', 'assistant ' || i, 'openai',
                   'gpt-4o', 'You help.', now() - i * interval '1 second', now()
            FROM generate_series(1, $2::int) AS i""",
        prefix,
        count,
    )


async def _plans(pool: asyncpg.Pool) -> tuple[str, str]:
    """(a first page's plan, a get's plan) on a pooled connection, after ten executions each."""
    async with pool.acquire() as connection:
        for _ in range(10):
            await connection.fetchrow(LIST, COMPANY, 0, 20)
            await connection.fetchval(bodies.GET_SQL, FIRST, COMPANY)
        return (
            await kept_plan(connection, LIST, f"'{COMPANY}', 0, 20"),
            await kept_plan(connection, bodies.GET_SQL, f"'{FIRST}', '{COMPANY}'"),
        )


async def test_the_reads_run_generic_plans_made_again_for_a_grown_table(small):
    url, admin = small
    settings = get_settings().model_copy(update={"database_url": url})
    pool = await statement_pool(settings)
    try:
        async with pool.acquire() as connection:
            mode = await connection.fetchval("SHOW plan_cache_mode")
        list_small, _ = await _plans(pool)
        await _add_assistants(admin, "grown", 50_000)
        await asyncio.sleep(PLAN_MAX_AGE_SECONDS + 0.1)
        list_grown, get_grown = await _plans(pool)
    finally:
        await pool.close()

    assert mode == "force_generic_plan"
    assert "$1" in list_small and "Seq Scan on assistants" in list_small, list_small
    assert "$1" in list_grown and "Seq Scan on assistants" not in list_grown, list_grown
    assert "ix_assistants_company_created" in list_grown, list_grown
    assert "$1" in get_grown and "pk_assistants" in get_grown, get_grown
    assert "Seq Scan" not in get_grown, get_grown
