"""The users' command line against a real API server process and the real pipeline."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing import free_port
from tests.factories import create_assistant
from tests.processes import wait_for_http

pytestmark = pytest.mark.usefixtures("worker")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def api_url():  # type: ignore[no-untyped-def]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "uvicorn"), "api.main:app", "--port", str(port), "--log-level", "warning"],
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", server)
    yield url
    server.terminate()
    server.wait(10)


async def test_batch_run_uploads_waits_and_writes_every_result(
    client, tenant, emu, api_url, tmp_path
):
    assistant = await create_assistant(client, tenant)
    source = tmp_path / "items.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"customId": f"cli-{i}", "userInput": f"from the cli {i}"})
            for i in range(12)
        )
        + "\n{broken\n"
    )
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "ASSISTANTS_API_KEY": tenant.api_key, "ASSISTANTS_API_URL": api_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [
            str(BIN / "assistants"),
            "batch",
            "run",
            str(source),
            "--assistant",
            assistant["id"],
            "--out",
            str(out),
            "--poll",
            "0.2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "12 items accepted" in result.stderr
    assert "invalid" in result.stderr  # the broken line is reported
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["customId"] for line in lines) == sorted(f"cli-{i}" for i in range(12))
    assert all(line["status"] == "succeeded" for line in lines)


def test_batch_run_without_a_key_says_so(tmp_path):
    source = tmp_path / "items.jsonl"
    source.write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANTS_API_KEY"}
    result = subprocess.run(
        [str(BIN / "assistants"), "batch", "run", str(source), "--assistant", "x"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ASSISTANTS_API_KEY" in result.stderr or "--key" in result.stderr
