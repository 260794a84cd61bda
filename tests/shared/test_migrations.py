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
