"""The migrations and the ORM models describe the same schema (the schema comes from Alembic only)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import shared.models  # noqa: F401  (registers every table)
from shared.config import get_settings
from shared.db import Base, create_engine


async def test_models_match_the_migrated_database(database):
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


async def test_the_jobs_table_is_vacuumed_after_a_fiftieth_of_it_changes(database):
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with engine.connect() as connection:
            options = (
                await connection.exec_driver_sql(
                    "SELECT reloptions FROM pg_class WHERE relname = 'jobs' AND relkind = 'r'"
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert set(options or []) >= {
        "autovacuum_vacuum_scale_factor=0.02",
        "autovacuum_analyze_scale_factor=0.02",
    }


async def test_session_and_batch_lookups_use_their_partial_indexes(database):
    """The indexes hold only rows with a session or a batch (0008); a lookup of one session or
    of some batches, with a parameter as the queries send it, must still be able to use them."""
    engine = create_engine(get_settings(), pool_size=1)
    lookups = {  # index -> (query, its argument)
        "ix_jobs_session_seq": (
            "SELECT id FROM jobs WHERE session_id = $1 ORDER BY session_seq",
            "'x'",
        ),
        "ix_jobs_batch_id": ("SELECT count(*) FROM jobs WHERE batch_id = ANY($1::text[])", "'{x}'"),
    }
    plans = {}
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            async with raw.transaction():
                await raw.execute("SET LOCAL enable_seqscan = off")
                await raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                for n, (index, (query, argument)) in enumerate(lookups.items()):
                    await raw.execute(f"PREPARE lookup{n} AS {query}")
                    rows = await raw.fetch(f"EXPLAIN EXECUTE lookup{n}({argument})")
                    plans[index] = "\n".join(row[0] for row in rows)
    finally:
        await engine.dispose()
    for index, plan in plans.items():
        assert index in plan, plan
