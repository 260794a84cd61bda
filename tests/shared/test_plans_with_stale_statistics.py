"""The hot statements keep their plans when the statistics say nothing is queued.

Statistics taken while every job had finished estimate one row for each partial index on status;
a large batch arriving then must still be dispatched and claimed through the right indexes. The
test builds that state in a database of its own (its ANALYZE must not change other tests' plans).
A plan a pooled connection kept from an earlier, smaller table is the same trap: the workers'
connections must drop their plans once they are a second old (the last test).
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.config import get_settings
from shared.db import create_engine
from shared.jobs import dispatch_sql, lifecycle_sql
from tests.plans import kept_plan, own_database
from workers.runtime import PLAN_MAX_AGE_SECONDS, job_path_pool, worker_engine

COMPANY, ASSISTANT = "c" * 24, "a" * 24


def _numbered(sql: str, names: list[str]) -> str:
    for number, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${number}")
    return sql


@pytest.fixture(scope="module")
async def stale() -> AsyncIterator[asyncpg.Connection]:
    async with own_database("plans") as (_, connection):
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


# The claim's shape (a primary-key lookup by an array, status wrapped so no partial index serves
# it), as one small statement that `EXPLAIN EXECUTE` can show the pooled connection's plan of.
PROBE = "SELECT id FROM jobs WHERE id = ANY(CAST(:ids AS text[])) AND (status || '') = 'queued'"


@pytest.fixture
async def growing() -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A database of its own whose jobs table is small, analyzed, and never analyzed again."""
    async with own_database("growing") as (url, connection):
        await connection.execute(
            f"""ALTER TABLE jobs SET (autovacuum_enabled = false);
                INSERT INTO companies (id, name, created_at) VALUES ('{COMPANY}', 'plans', now());
                INSERT INTO assistants (id, company_id, name, llm_provider, llm_model, llm_prompt,
                                        created_at, updated_at)
                VALUES ('{ASSISTANT}', '{COMPANY}', 'plans', 'openai', 'gpt-4o', 'You help.',
                        now(), now())"""
        )
        yield url, connection


async def _add_jobs(connection: asyncpg.Connection, prefix: str, count: int) -> None:
    await connection.execute(
        f"""INSERT INTO jobs (id, company_id, assistant_id, kind, status, input, prompt_version,
                              provider, model, created_at)
            SELECT $1 || lpad(i::text, 10, '0'), '{COMPANY}', '{ASSISTANT}', 'batch', 'queued',
                   '{{}}', 1, 'openai', 'gpt-4o', now()
            FROM generate_series(1, $2::int) AS i""",
        prefix,
        count,
    )


async def _kept_plan(connection: AsyncConnection) -> str:
    """The plan this connection would run PROBE with now (its cached one, if it keeps one)."""
    name = (
        await connection.execute(
            text("SELECT name FROM pg_prepared_statements WHERE statement = :sql"),
            {"sql": PROBE.replace(":ids", "$1")},
        )
    ).scalar_one()
    rows = await connection.execute(text(f"EXPLAIN EXECUTE {name}('{{nothing-here}}')"))
    return "\n".join(row[0] for row in rows)


async def _plan_after_growth(engine: AsyncEngine, jobs: asyncpg.Connection) -> tuple[str, str]:
    """PROBE ten times on a pooled connection while the table is small (PostgreSQL settles on a
    generic plan), then 50,000 jobs arrive; past the workers' plan age, the same connection's
    plan. Returns (plan while small, plan once grown)."""
    async with engine.connect() as connection:
        for _ in range(10):
            await connection.execute(text(PROBE), {"ids": ["nothing-here"]})
        small = await _kept_plan(connection)
    await _add_jobs(jobs, "grown", 50_000)
    await asyncio.sleep(PLAN_MAX_AGE_SECONDS + 0.1)
    async with engine.connect() as connection:
        return small, await _kept_plan(connection)


@pytest.mark.parametrize("engine_of", ["worker", "api"])
async def test_worker_connections_replan_for_a_grown_table_within_a_second(growing, engine_of):
    url, jobs = growing
    await _add_jobs(jobs, "small", 50)
    await jobs.execute("ANALYZE jobs")
    settings = get_settings().model_copy(update={"database_url": url})
    engine = worker_engine(settings) if engine_of == "worker" else create_engine(settings, 1)
    try:
        small, grown = await _plan_after_growth(engine, jobs)
    finally:
        await engine.dispose()

    assert "Seq Scan on jobs" in small, small  # the plan a small table gets
    if engine_of == "worker":
        assert "pk_jobs" in grown and "Seq Scan" not in grown, grown
    else:  # the default, which the workers must not keep: a scan of all 50,050 jobs per claim
        assert "Seq Scan on jobs" in grown, grown


PROBE_DRIVER = PROBE.replace(":ids", "$1")


async def test_the_job_path_runs_generic_plans_made_again_within_a_second(growing):
    """The claim and the outcome run on asyncpg's own pool (`workers.runtime.job_path_pool`):
    planned once per statement and plan age, not at every execution, with a generic plan that,
    made for no particular ids, still finds them by primary key once the table has grown."""
    url, jobs = growing
    await _add_jobs(jobs, "small", 50)
    await jobs.execute("ANALYZE jobs")
    settings = get_settings().model_copy(update={"database_url": url})
    pool = await job_path_pool(settings)
    try:
        async with pool.acquire() as connection:
            mode = await connection.fetchval("SHOW plan_cache_mode")
            for _ in range(10):
                await connection.fetch(PROBE_DRIVER, ["nothing-here"])
            small = await kept_plan(connection, PROBE_DRIVER, "'{nothing-here}'")
        await _add_jobs(jobs, "grown", 50_000)
        await asyncio.sleep(PLAN_MAX_AGE_SECONDS + 0.1)
        async with pool.acquire() as connection:
            await connection.fetch(PROBE_DRIVER, ["nothing-here"])  # prepared again: it expired
            grown = await kept_plan(connection, PROBE_DRIVER, "'{nothing-here}'")
    finally:
        await pool.close()

    assert mode == "force_generic_plan"
    assert "$1" in small and "Seq Scan on jobs" in small, small  # generic, for a small table
    assert "$1" in grown, grown
    assert "pk_jobs" in grown and "Seq Scan" not in grown, grown
