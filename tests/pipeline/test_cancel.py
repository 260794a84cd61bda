"""Cancelling jobs: a queued job never reaches a provider; running and finished jobs stay."""

import asyncio

import pytest

from tests.factories import assert_error, create_assistant, new_tenant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import execute, unique, wait_for_request
from tests.pipeline.limits_helpers import limit_company

pytestmark = pytest.mark.usefixtures("worker")


async def _running_head(client, tenant, emu, assistant_id: str, delay_ms: int = 1500):  # type: ignore[no-untyped-def]
    """An async job held at the provider by a delay fault: (its job id, its session id)."""
    text = unique("slow head of the session")
    emu.fault(match=text, status=200, delayMs=delay_ms, times=1)
    response = await execute(client, tenant, assistant_id, respond_async=True, userInput=text)
    assert response.status_code == 202, response.text
    await wait_for_request(emu, text)
    return response.json()["id"], response.json()["sessionId"]


async def test_cancelled_queued_job_never_reaches_the_provider(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    head, session_id = await _running_head(client, tenant, emu, assistant["id"])
    cancelled_text, after_text = unique("never sent"), unique("sent after the cancel")
    queued = await execute(
        client,
        tenant,
        assistant["id"],
        respond_async=True,
        userInput=cancelled_text,
        sessionId=session_id,
    )
    after = await execute(
        client,
        tenant,
        assistant["id"],
        respond_async=True,
        userInput=after_text,
        sessionId=session_id,
    )
    assert queued.json()["status"] == "queued"

    response = await client.post(f"/api/jobs/{queued.json()['id']}/cancel", headers=tenant.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["finishedAt"]
    assert (await wait_for_job(client, tenant.headers, head))["status"] == "succeeded"
    done = await wait_for_job(client, tenant.headers, after.json()["id"])
    assert done["status"] == "succeeded"
    assert (
        done["result"]["response"] == f"Echo: {after_text} [turns=3]"
    )  # skipped the cancelled turn
    assert emu.requests(contains=cancelled_text) == []
    job = (await client.get(f"/api/jobs/{queued.json()['id']}", headers=tenant.headers)).json()
    assert (job["status"], job["attempts"], job["startedAt"]) == ("cancelled", 0, None)
    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 4


async def _queued_job(client, tenant) -> str:  # type: ignore[no-untyped-def]
    """The id of the tenant's only queued job, once it is recorded."""
    for _ in range(100):
        listed = (await client.get("/api/jobs?status=queued", headers=tenant.headers)).json()
        if listed["data"]:
            [job] = listed["data"]
            return str(job["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("no queued job")


async def test_cancel_wakes_a_synchronous_request_waiting_for_the_job(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    _, session_id = await _running_head(client, tenant, emu, assistant["id"], delay_ms=3000)
    text = unique("sync behind the head")
    waiting = asyncio.create_task(
        execute(client, tenant, assistant["id"], userInput=text, sessionId=session_id)
    )
    job_id = await _queued_job(client, tenant)
    started = asyncio.get_running_loop().time()

    cancelled = await client.post(f"/api/jobs/{job_id}/cancel", headers=tenant.headers)
    response = await asyncio.wait_for(waiting, timeout=10)

    assert cancelled.status_code == 200
    assert asyncio.get_running_loop().time() - started < 2  # woken, not timed out
    assert_error(response, 409, "JOB_CANCELLED")
    assert emu.requests(contains=text) == []


async def test_a_cancelled_job_frees_its_concurrency_slot(client, emu):
    tenant = await new_tenant("cancel frees a slot")
    await limit_company(tenant.company_id, concurrency=2)
    assistant = await create_assistant(client, tenant)
    _, session_id = await _running_head(client, tenant, emu, assistant["id"], delay_ms=3000)
    waiting = asyncio.create_task(  # admitted under the limits: it holds the second slot
        execute(client, tenant, assistant["id"], userInput="behind", sessionId=session_id)
    )
    cancelled = await client.post(
        f"/api/jobs/{await _queued_job(client, tenant)}/cancel", headers=tenant.headers
    )
    assert cancelled.status_code == 200
    await waiting

    response = await execute(client, tenant, assistant["id"], userInput=unique("freed slot"))

    assert response.status_code == 200, response.text


async def test_cancel_of_a_running_job_is_409(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    head, _ = await _running_head(client, tenant, emu, assistant["id"])

    response = await client.post(f"/api/jobs/{head}/cancel", headers=tenant.headers)

    assert_error(response, 409, "JOB_NOT_CANCELLABLE")
    assert (await wait_for_job(client, tenant.headers, head))["status"] == "succeeded"


async def test_cancel_of_a_finished_job_is_409(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    done = await execute(client, tenant, assistant["id"], userInput="finished")
    job_id = done.json()["jobId"]

    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=tenant.headers)

    assert_error(response, 409, "JOB_NOT_CANCELLABLE")
    job = (await client.get(f"/api/jobs/{job_id}", headers=tenant.headers)).json()
    assert job["status"] == "succeeded"


@pytest.mark.parametrize("job_id", ["ffffffffffffffffffffffff", "not-an-id"])
async def test_cancel_of_an_unknown_job_is_404(client, tenant, job_id):
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=tenant.headers)
    assert_error(response, 404, "JOB_NOT_FOUND")
