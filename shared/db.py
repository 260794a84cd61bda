"""The declarative base, the engine factory and the unit-of-work helper.

Engines are created by the process that needs them (the API's lifespan, a worker's process
start, a CLI command), never at import time.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import MetaData, TextClause, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
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
    settings: Settings, pool_size: int | None = None, *, plan_max_age: float | None = None
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


async def _keep_session_state(_connection: asyncpg.Connection) -> None:
    """A driver pool's statements are single statements outside transactions that leave no
    session state (no SET, LISTEN, cursor or advisory lock): asyncpg's default reset, a round
    trip at every release, would clear nothing."""


async def create_driver_pool(
    settings: Settings,
    size: int,
    *,
    server_settings: dict[str, str] | None = None,
    statement_lifetime: float = 300.0,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    open_at_start: bool = False,
) -> asyncpg.Pool:
    """asyncpg's own pool, for the hottest single statements, each its own transaction: the
    API's admission of a new conversation and its assistants' list and get, the workers' claim
    and outcome.

    Why not the engine's pool with `driver_connection`: SQLAlchemy's checkout and return (a
    greenlet each way, its events, the connection's reset) cost 0.17 ms of CPU around a one-row
    statement against 0.09 here, and 0.3 ms of wall time around each statement in a loaded
    worker. JSON columns come back decoded, as on the engine's connections. `statement_lifetime`
    is asyncpg's `max_cached_statement_lifetime`: a statement is prepared again, and planned
    again, once it is that old. `open_at_start` opens every connection when the pool is made
    (asyncpg's `init_size`); idle ones still close after asyncpg's inactivity limit, as the pool
    keeps no floor (`min_size=0`).
    """

    async def setup(connection: asyncpg.Connection) -> None:
        for type_name in ("json", "jsonb"):
            await connection.set_type_codec(
                type_name,
                schema="pg_catalog",
                encoder=lambda value: orjson.dumps(value).decode(),
                decoder=orjson.loads,
            )
        if init is not None:
            await init(connection)

    return await asyncpg.create_pool(
        make_url(settings.database_url).set(drivername="postgresql").render_as_string(False),
        min_size=0,
        init_size=size if open_at_start else 0,
        max_size=size,
        max_cached_statement_lifetime=statement_lifetime,
        server_settings=server_settings,
        init=setup,
        reset=_keep_session_state,
    )


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
