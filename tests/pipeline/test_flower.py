"""Flower, run against our Celery app, sees every task from the workers' events, behind basic auth."""

import ast
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import free_port
from tests.factories import create_assistant
from tests.pipeline.helpers import execute, unique
from tests.processes import REPO_ROOT, wait_for_http

pytestmark = pytest.mark.usefixtures("worker")

AUTH = ("ops", "s3cret-pass")


@pytest.fixture(scope="module")
def flower(worker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Flower on a free port, started after the worker; its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    log_path = Path(tempfile.mkstemp(prefix="flower-", suffix=".log")[1])
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "workers.celery_app", "flower"),
                f"--port={port}",
                "--address=127.0.0.1",
                f"--basic-auth={':'.join(AUTH)}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthcheck", process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def poll(check: Any, within: float = 20) -> Any:
    """Call `check()` until it returns something truthy (Flower learns of tasks from events)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("Flower did not show it in time")
        await asyncio.sleep(0.3)


async def test_flower_refuses_its_api_without_credentials(flower):
    async with httpx.AsyncClient(base_url=flower) as http:
        assert (await http.get("/api/tasks")).status_code == 401
        assert (await http.get("/api/workers")).status_code == 401
        assert (await http.get("/api/tasks", auth=("ops", "wrong"))).status_code == 401


async def test_flower_shows_our_jobs_with_state_worker_runtime_and_only_ids_and_times(
    client, tenant, emu, flower
):
    assistant = await create_assistant(client, tenant)
    secret_input = unique("private user input")
    job_ids = []
    for respond_async in (False, False, True):
        response = await execute(
            client, tenant, assistant["id"], respond_async=respond_async, userInput=secret_input
        )
        assert response.status_code in (200, 202), response.text
        body = response.json()
        job_ids.append(body.get("jobId") or body["id"])

    async with httpx.AsyncClient(base_url=flower, auth=AUTH, timeout=10) as http:

        async def our_tasks() -> dict[str, dict[str, Any]] | None:
            # Interactive jobs go one to a task; asynchronous ones in the dispatcher's chunks.
            tasks = (await http.get("/api/tasks")).json()
            by_job = {
                job_id: task
                for task in tasks.values()
                for job_id in job_ids
                if job_id in str(task.get("args")) and task.get("state") == "SUCCESS"
            }
            return by_job if len(by_job) == len(job_ids) else None

        tasks = await poll(our_tasks)
        workers = await poll(lambda: _json(http.get("/api/workers", params={"refresh": "true"})))
        everything = (await http.get("/api/tasks")).text

    worker_name = f"shared-{os.getpid()}@"
    assert any(name.startswith(worker_name) for name in workers), list(workers)
    for job_id, task in tasks.items():
        if job_id == job_ids[-1]:  # the asynchronous one
            assert task["name"] == "jobs.execute_many"
            assert task["args"] == repr([[job_id]]) and task["kwargs"] == "{}"
        else:  # a synchronous job's message adds when the API admitted it, a number
            assert task["name"] == "jobs.execute"
            assert task["args"] == repr([job_id])
            kwargs = ast.literal_eval(task["kwargs"])
            assert list(kwargs) == ["admitted_before"]
            assert isinstance(kwargs["admitted_before"], float)
        assert task["state"] == "SUCCESS"
        assert task["worker"].startswith(worker_name) and task["worker"] in workers
        assert task["runtime"] is not None and task["runtime"] > 0
        assert task["retries"] == 0
    assert "private user input" not in everything
    assert "Bearer" not in everything and tenant.api_key not in everything
    assert json.loads(everything)  # the task list itself is well-formed JSON


async def _json(response: Any) -> Any:
    return (await response).json()
