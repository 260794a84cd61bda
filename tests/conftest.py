"""Test run set-up: a fresh PostgreSQL database and a private Redis key prefix for this run.

The environment is set before any project module reads its settings, the database is migrated
with Alembic (the same path as production) and dropped at the end, and every Redis key with the
run's prefix is deleted. The run's temporary files (the real processes' logs, beat's schedule,
the metrics folders) go in one folder of their own, removed when the run passes and kept when it
fails: the logs of the worker and beat are what explains a failure in the pipeline.
"""

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest

RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"
# TMPDIR for the processes the tests start and for their children; tempfile's own for this one.
RUN_TMP = tempfile.mkdtemp(prefix=f"assistants-test-{RUN_ID}-")
os.environ["TMPDIR"] = tempfile.tempdir = RUN_TMP
BASE_DATABASE = os.environ.get(
    "TEST_DATABASE_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
os.environ["DATABASE_URL"] = f"{BASE_DATABASE}/assistants_test_{RUN_ID}"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["REDIS_KEY_PREFIX"] = f"assistants-test-{RUN_ID}"
os.environ["ENVIRONMENT"] = "test"
os.environ["LOG_JSON"] = "false"
# Pipeline tests: emulated providers on a private port, short timeouts, a fast reaper.
from emulator.testing import free_port  # noqa: E402

os.environ["EMULATOR_PORT"] = str(free_port())
for _name in ("OPENAI", "ANTHROPIC", "GOOGLE"):
    os.environ.pop(f"{_name}_API_KEY", None)
for _name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    SYNC_WAIT_SECONDS="20",
    PROVIDER_TIMEOUT_SECONDS="3",
    PROVIDER_MAX_ATTEMPTS="3",
    RETRY_BASE_SECONDS="0.05",
    RETRY_MAX_SECONDS="0.5",
    JOB_LEASE_MARGIN_SECONDS="2",
    REAPER_INTERVAL_SECONDS="1",
    QUEUED_JOB_REQUEUE_SECONDS="4",
    ATTACHMENT_ALLOWED_HOSTS='["127.0.0.1"]',
    WORKER_CONCURRENCY="50",
    # The limiter's "minute" is 5 s here, so limit tests see several windows in seconds.
    LIMIT_WINDOW_SECONDS="5",
    LIMIT_WINDOW_MARGIN_SECONDS="1.0",
    DISPATCH_INTERVAL_SECONDS="0.5",
    WORKER_METRICS_PORT=str(free_port()),
    WORKER_METRICS_ADDRESS="127.0.0.1",
)

import httpx  # noqa: E402
from redis import Redis  # noqa: E402

from shared.config import get_settings  # noqa: E402
from shared.database_admin import create_database_if_missing, drop_database  # noqa: E402
from shared.migrations.runner import upgrade  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(RUN_TMP, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus: int) -> None:  # type: ignore[no-untyped-def]
    if exitstatus != pytest.ExitCode.OK:
        terminalreporter.write_line(f"this run's process logs are kept in {RUN_TMP}")


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    return get_settings()


@pytest.fixture(scope="session", autouse=True)
def database(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    asyncio.run(create_database_if_missing(settings.database_url))
    upgrade(settings.database_url)
    yield settings.database_url
    asyncio.run(drop_database(settings.database_url))


@pytest.fixture(scope="session", autouse=True)
def redis_prefix(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    yield settings.redis_key_prefix
    redis = Redis.from_url(settings.redis_url)
    keys = list(redis.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        redis.delete(*keys[start : start + 500])
    redis.close()


@pytest.fixture(scope="session")
async def app(database):  # type: ignore[no-untyped-def]
    from api.main import create_app

    application = create_app()
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def tenant(database):  # type: ignore[no-untyped-def]
    from tests.factories import new_tenant

    return await new_tenant()
