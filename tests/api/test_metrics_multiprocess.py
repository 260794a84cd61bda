"""Several API processes on one host (`uvicorn --workers 2`) report one sum in multiprocess mode."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.testing import free_port
from tests.processes import REPO_ROOT, wait_for_http
from tests.prometheus import sample


@pytest.fixture(scope="module")
def two_process_api(database) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """The API under `uvicorn --workers 2` in multiprocess mode: its URL and metrics directory."""
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="prometheus-"))
    log_path = Path(tempfile.mkstemp(prefix="uvicorn-", suffix=".log")[1])
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "api.main:app", "--workers", "2"),
                *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", process, log_path)
        yield url, metrics_dir
    finally:
        process.terminate()
        process.wait(30)


def fresh_get(url: str) -> httpx.Response:
    """On a new connection, so that requests spread over the processes."""
    with httpx.Client(timeout=5) as http:
        return http.get(url)


def test_every_scrape_reports_the_sum_over_both_processes(two_process_api):
    url, metrics_dir = two_process_api
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    baseline = sample(fresh_get(f"{url}/metrics").text, "assistants_http_requests_total", **labels)
    sent = 0
    # A process writes its counter file when it counts its first request: wait for both.
    while len(list(metrics_dir.glob("counter_*.db"))) < 2 or sent < 20:
        assert sent < 500, "one process answered every request"
        assert fresh_get(f"{url}/healthz").status_code == 200
        sent += 1
    for _ in range(10):  # whichever process answers the scrape
        text = fresh_get(f"{url}/metrics").text
        assert sample(text, "assistants_http_requests_total", **labels) == baseline + sent
