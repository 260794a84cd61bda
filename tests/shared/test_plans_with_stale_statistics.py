"""The hot statements keep their plans when the statistics say nothing is queued.

Statistics taken while every job had finished estimate one row for each partial index on status;
a large batch arriving then must still be dispatched and claimed through the right indexes. The
test builds that state in a database of its own (its ANALYZE must not change other tests' plans).
A plan a pooled connection kept from an earlier, smaller table is the same trap: the workers'
connections must keep none (the last test).
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import get_settings
from shared.database_admin import create_database_if_missing, drop_database
from shared.db import create_engine
from shared.jobs import dispatch_sql, lifecycle_sql
from shared.migrations.runner import upgrade
from workers.runtime import worker_engine

COMPANY, ASSISTANT = "c" * 24, "a" * 24


def _numbered(sql: str, names: list[str]) -> str:
    for number, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${number}")
    return sql


@pytest.fixture(scope="module")
async def stale() -> AsyncIterator[asyncpg.Connection]:
    settings = get_settings()
    url = (
        settings.database_url.rsplit("/", 1)[0]
        + f"/{settings.database_url.rsplit('/', 1)[1]}_plans_{secrets.token_hex(3)}"
    )
    await create_database_if_missing(url)
    try:
        await asyncio.to_thread(upgrade, url)
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        await connection.execute(
            """INSERT INTO companies (id, name, created_at) VALUES ($1, 'plans', now());
               INSERT INTO assistants (id, company_id, name, llm_provider, llm_model, llm_prompt,
                                       created_at, updated_at)
               VALUES ($2, $1, 'plans', 'openai', 'gpt-4o', 'You help.', now(), now())""".replace(
                "$1", f"'{COMPANY}'"
            ).replace("$2", f"'{ASSISTANT}'")
        )
        insert = f"""INSERT INTO jobs (id, company_id, assistant_id, kind, status, input,
                                       prompt_version, provider, model, created_at, finished_at)
                     SELECT $1 || lpad(i::text, 10, '0'), '{COMPANY}', '{ASSISTANT}', 'batch', $2::varchar,
                            '{{"userInput": "q"}}', 1, 'openai', 'gpt-4o', now(),
                            CASE WHEN $2::varchar = 'succeeded' THEN now() END
                     FROM generate_series(1, $3::int) AS i"""
        await connection.execute(insert, "done", "succeeded", 20_000)
        await connection.execute("ANALYZE jobs")  # every job finished: statistics say none queued
        await connection.execute(insert, "wait", "queued", 20_000)
        yield connection
        await connection.close()
    finally:
        await drop_database(url)


async def _plan(connection: asyncpg.Connection, sql: str, *args: object) -> str:
    rows = await connection.fetch("EXPLAIN " + sql, *args)
    return "\n".join(row[0] for row in rows)


async def test_the_dispatcher_walks_the_pending_index_in_order(stale):
    next_jobs = _numbered(str(dispatch_sql.NEXT_JOBS), ["company_id", "take"])
    async with stale.transaction():
        await stale.execute(str(dispatch_sql.ORDERED_SCANS))
        plan = await _plan(stale, next_jobs, COMPANY, 20)

    assert "ix_jobs_pending" in plan and "Sort" not in plan, plan


async def test_the_claim_finds_its_jobs_by_primary_key(stale):
    claim = _numbered(str(lifecycle_sql.CLAIM), ["ids", "token", "now", "lease_until"])
    now = datetime.now(UTC)
    ids = [f"wait{i:010d}" for i in range(1, 21)]

    plan = await _plan(stale, claim, ids, "t" * 32, now, now + timedelta(minutes=1))

    assert "pk_jobs" in plan and "ix_jobs_open" not in plan, plan


async def test_a_sessions_next_turn_is_found_by_the_session_index(stale):
    """An interactive outcome unblocks its session's next turn. Through a partial index on
    status the statement read every queued job's entry (52,041 with a 50,000-item batch queued,
    2.5 ms of PostgreSQL's CPU per interactive job)."""
    release = _numbered(str(lifecycle_sql.RELEASE), ["now", "session_ids"])

    plan = await _plan(stale, release, datetime.now(UTC), ["s" * 24])

    assert "ix_jobs_session_seq" in plan, plan
    assert "ix_jobs_company_queued" not in plan and "ix_jobs_pending" not in plan, plan


async def _generic_plans(engine: AsyncEngine, sql: str) -> int:
    """Run one prepared statement ten times on one pooled connection, as a worker would, and
    count the generic plans PostgreSQL used for it."""
    async with engine.connect() as connection:
        for _ in range(10):
            await connection.execute(text(sql), {"id": "nothing-here"})
        counts = await connection.execute(
            text("SELECT generic_plans FROM pg_prepared_statements WHERE statement = :sql"),
            {"sql": sql.replace(":id", "$1")},
        )
        return int(counts.scalar_one())


async def test_worker_connections_plan_every_execution_for_the_table_as_it_is(settings):
    sql = "SELECT id FROM jobs WHERE id = :id AND (status || '') = 'running'"
    worker, api = (
        worker_engine(settings),
        create_engine(settings, pool_size=1),
    )
    try:
        assert await _generic_plans(worker, sql) == 0
        assert await _generic_plans(api, sql) > 0  # the default the worker must not keep
    finally:
        await worker.dispose()
        await api.dispose()
