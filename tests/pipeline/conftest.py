"""The real pipeline: the provider emulator, a Celery worker and beat, all as processes."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.testing import EmulatorProcess
from tests import processes


@pytest.fixture(scope="session")
def emulator(settings) -> Iterator[EmulatorProcess]:  # type: ignore[no-untyped-def]
    with EmulatorProcess(port=settings.emulator_port) as emu:
        yield emu


@pytest.fixture(scope="session")
def beat(database, emulator) -> Iterator[processes.CeleryProcess]:  # type: ignore[no-untyped-def]
    process = processes.beat().start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def worker(database, emulator, beat) -> Iterator[processes.CeleryProcess]:  # type: ignore[no-untyped-def]
    process = processes.worker("shared").start()
    yield process
    process.stop()


@pytest.fixture
def emu(emulator) -> Iterator[EmulatorProcess]:  # type: ignore[no-untyped-def]
    emulator.reset()
    yield emulator
    emulator.reset()


async def wait_for_job(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: str, within: float = 30
) -> dict[str, Any]:
    """Poll the job resource until it ends (as a client would)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        job = (await client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {within}s")
        await asyncio.sleep(0.1)
