"""A worker runs at most WORKER_MAX_CALLS provider calls at once; a chunk beyond it waits in the
worker and starts as calls end. This test decides which worker runs the jobs, so the shared
worker is stopped and one with a small limit runs instead."""

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests import processes
from tests.factories import create_assistant
from tests.pipeline.helpers import unique

LIMIT = 3
LATENCY = 0.4


@pytest.fixture(scope="module")
def small_worker(worker) -> Iterator[processes.CeleryProcess]:  # type: ignore[no-untyped-def]
    worker.stop()
    os.environ["WORKER_MAX_CALLS"] = str(LIMIT)
    try:
        own = processes.worker("small", concurrency=10).start()
    finally:
        del os.environ["WORKER_MAX_CALLS"]
    yield own
    own.stop()
    worker.start()


async def test_a_chunk_larger_than_the_limit_never_has_more_calls_in_flight(
    client, tenant, emu, small_worker
):
    emu.configure(latencyMs=LATENCY * 1000)
    assistant = await create_assistant(client, tenant)
    marker = unique("capacity")
    items = [{"customId": f"i{i}", "userInput": f"{marker} {i}"} for i in range(8)]
    response = await client.post(
        f"/api/assistants/{assistant['id']}/batches", json={"items": items}, headers=tenant.headers
    )
    assert response.status_code == 202
    batch_id = response.json()["id"]
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        batch = (await client.get(f"/api/batches/{batch_id}", headers=tenant.headers)).json()
        if batch["status"] == "completed":
            break
        assert asyncio.get_running_loop().time() < deadline, batch
        await asyncio.sleep(0.2)

    assert batch["counts"]["succeeded"] == 8, batch
    arrivals = sorted(r["receivedAt"] for r in emu.requests(contains=marker))
    assert len(arrivals) == 8
    # Every call lasts LATENCY at the emulator: count the calls still running at each arrival.
    in_flight = [sum(1 for a in arrivals if a <= t < a + LATENCY) for t in arrivals]
    assert max(in_flight) <= LIMIT
    assert arrivals[-1] - arrivals[0] >= LATENCY * 2 * 0.9  # 8 calls, 3 at a time: 3 waves
