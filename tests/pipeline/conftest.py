"""The real pipeline: the provider emulator, a Celery worker and beat, all as processes."""

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.testing import EmulatorProcess, free_port
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


@pytest.fixture(scope="module")
def worker_metrics(worker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The session worker's exporter URL (restarting the worker on a free port if none is set)."""
    if os.environ.get("WORKER_METRICS_PORT", "0") in ("", "0"):
        os.environ["WORKER_METRICS_PORT"] = str(free_port())
        os.environ["WORKER_METRICS_ADDRESS"] = "127.0.0.1"
        worker.stop()
        worker.start()
    url = f"http://127.0.0.1:{os.environ['WORKER_METRICS_PORT']}/metrics"
    # Poll: a restarted CeleryProcess appends to its old log, whose " ready." ends start() at once.
    deadline = time.monotonic() + 30
    while True:
        try:
            if "# HELP assistants_jobs_finished_total" in httpx.get(url, timeout=1).text:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the worker did not start its exporter"
        time.sleep(0.1)
    yield url


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return response.text
