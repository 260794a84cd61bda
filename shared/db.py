"""The declarative base, the engine factory and the unit-of-work helper.

Engines are created by the process that needs them (the API's lifespan, a worker's process
start, a CLI command), never at import time.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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
    settings: Settings, pool_size: int | None = None, *, plan_every_execution: bool = False
) -> AsyncEngine:
    """`plan_every_execution` is for the workers: after five runs of a prepared statement a
    pooled connection may switch to one generic plan, kept until the table's next ANALYZE, and
    the jobs table swings from a few rows to 50,000 within a second of a batch arriving. A plan
    kept from when it was small scans the whole table for a claim by primary key (measured: 10
    ms on the server against 0.3 for the same statement freshly planned, on every interactive
    job while a batch drains). Planning each execution costs a fraction of a millisecond."""
    server_settings = {"plan_cache_mode": "force_custom_plan"} if plan_every_execution else {}
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=pool_size or settings.database_pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings},
    )


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


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection on which each statement is its own transaction, for work that is one
    statement: it goes without BEGIN and COMMIT round trips."""
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


def utcnow() -> datetime:
    return datetime.now(UTC)
