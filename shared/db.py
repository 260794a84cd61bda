"""The declarative base, the engine factory and the unit-of-work helper.

Engines are created by the process that needs them (the API's lifespan, a worker's process
start, a CLI command), never at import time.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, TextClause, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from shared.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(
    settings: Settings,
    pool_size: int | None = None,
    *,
    plan_max_age: float | None = None,
) -> AsyncEngine:
    """`plan_max_age` (seconds) is for the workers: after five runs of a prepared statement a
    pooled connection may switch to one generic plan, kept until the table's next ANALYZE, and
    the jobs table swings from a few rows to 50,000 within a second of a batch arriving. A plan
    kept from when it was small scans the whole table for a claim by primary key (measured: 10
    ms on the server against 0.3 for the same statement freshly planned, on every interactive
    job while a batch drains). So a connection checked out with plans older than this drops them
    first (`_drop_old_plans`)."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=pool_size or settings.database_pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
    )
    if plan_max_age is not None:
        _drop_old_plans(engine, plan_max_age)
    return engine


def _drop_old_plans(engine: AsyncEngine, max_age: float) -> None:
    """`DISCARD PLANS` on checkout once a connection's plans are `max_age` old: the statements
    stay prepared, the next executions are planned for the table as it is now, and PostgreSQL
    may settle on a generic plan again from there. One round trip per connection per
    `max_age`, rather than planning every execution (`plan_cache_mode = force_custom_plan`, which
    cost the interactive worker about 1 ms of a synchronous request's p50: docs/benchmarks.md)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        now = time.monotonic()
        planned_since = record.info.setdefault("planned_since", now)
        if now - planned_since >= max_age:
            dbapi_connection.run_async(lambda connection: connection.execute("DISCARD PLANS"))
            record.info["planned_since"] = now


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any exception."""
    async with sessionmaker() as session, session.begin():
        yield session


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """asyncpg's own connection from the engine's pool, for the hottest single statements: sent
    without BEGIN and COMMIT round trips (one statement is its own transaction) and without
    SQLAlchemy's per-call work. Everything else goes through sessions."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection


class DriverStatement:
    """A `text()` statement compiled once for asyncpg's own connections: `$n` placeholders, and
    its parameters' names in their order. SQLAlchemy's own compiler does the numbering, so the
    statement keeps one source and its `:name` form still serves sessions."""

    def __init__(self, statement: TextClause) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


def utcnow() -> datetime:
    return datetime.now(UTC)
