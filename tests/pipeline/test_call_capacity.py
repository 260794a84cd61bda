"""A worker runs at most WORKER_MAX_CALLS provider calls at once; a chunk beyond it waits in the
worker and starts, in parts of WORKER_MIN_PART, as calls end; a part's outcomes share a write.
These tests decide which worker runs the jobs, so the shared worker is stopped and one with small
limits runs instead."""

import asyncio
import os
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Job
from tests import processes
from tests.factories import create_assistant, in_transaction
from tests.pipeline.helpers import unique

LIMIT = 3
LATENCY = 0.4
LINGER = 1.0  # long enough for a part's jittered calls, so the test does not race it


@pytest.fixture(scope="module")
def small_worker(worker) -> Iterator[processes.CeleryProcess]:  # type: ignore[no-untyped-def]
    worker.stop()
    limits = {
        "WORKER_MAX_CALLS": str(LIMIT),
        "WORKER_MIN_PART": str(LIMIT),
        "WORKER_OUTCOME_LINGER_SECONDS": str(LINGER),
    }
    os.environ.update(limits)
    try:
        own = processes.worker("small", concurrency=10).start()
    finally:
        for name in limits:
            del os.environ[name]
    yield own
    own.stop()
    worker.start()


async def run_batch(client, tenant, marker: str, count: int) -> list[Job]:  # type: ignore[no-untyped-def]
    """Run a batch of `count` items to its end; its jobs' rows."""
    assistant = await create_assistant(client, tenant)
    items = [{"customId": f"i{i}", "userInput": f"{marker} {i}"} for i in range(count)]
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
    assert batch["counts"]["succeeded"] == count, batch

    async def rows(session: AsyncSession) -> list[Job]:
        return list((await session.execute(select(Job).where(Job.batch_id == batch_id))).scalars())

    return await in_transaction(rows)


async def test_a_chunk_larger_than_the_limit_never_has_more_calls_in_flight(
    client, tenant, emu, small_worker
):
    emu.configure(latencyMs=LATENCY * 1000)
    marker = unique("capacity")
    await run_batch(client, tenant, marker, 8)

    arrivals = sorted(r["receivedAt"] for r in emu.requests(contains=marker))
    assert len(arrivals) == 8
    # Every call lasts LATENCY at the emulator: count the calls still running at each arrival.
    in_flight = [sum(1 for a in arrivals if a <= t < a + LATENCY) for t in arrivals]
    assert max(in_flight) <= LIMIT
    assert arrivals[-1] - arrivals[0] >= LATENCY * 2 * 0.9  # 8 calls, 3 at a time: 3 waves


async def test_a_waiting_chunk_runs_in_parts_of_the_minimum_and_each_part_writes_once(
    client, tenant, emu, small_worker
):
    """Calls end at scattered times (jitter): one call's end is not enough to start a part, and
    a part's outcomes wait for one another. With parts of one job, each job would have a claim
    and a write of its own."""
    emu.configure(latencyMs=100, latencyJitterMs=400)
    jobs = await run_batch(client, tenant, unique("parts"), 3 * LIMIT)

    claims = Counter(job.started_at for job in jobs)  # one claim statement, one now()
    writes = Counter(job.finished_at for job in jobs)  # one outcome transaction, one now()
    assert sorted(claims.values()) == [LIMIT] * 3
    assert sorted(writes.values()) == [LIMIT] * 3
