"""Creating and dropping the service's database, for `make run` and the test suite."""

from sqlalchemy.engine import make_url


async def _connect_maintenance(database_url: str):  # type: ignore[no-untyped-def]
    import asyncpg

    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    ), url.database


async def create_database_if_missing(database_url: str) -> bool:
    """True when the database was created now."""
    connection, name = await _connect_maintenance(database_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
        return not exists
    finally:
        await connection.close()


async def drop_database(database_url: str) -> None:
    connection, name = await _connect_maintenance(database_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
