"""The jobs API: listing with filters and pages, tenancy, and what an execution updates."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import assert_error, create_assistant, new_tenant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import execute, unique

pytestmark = pytest.mark.usefixtures("worker")


async def _jobs(client, tenant, **params) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = await client.get("/api/jobs", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_jobs_list_filters_by_assistant_and_status_and_paginates(client, emu):
    tenant = await new_tenant("jobs list")
    one = await create_assistant(client, tenant)
    two = await create_assistant(client, tenant, name="Two")
    failing = unique("jobs list failure")
    emu.fault(match=failing, status=400, times=1)
    ids = []
    for text in (unique("a"), failing, unique("b")):
        response = await execute(client, tenant, one["id"], userInput=text)
        ids.append(response.json().get("jobId") or response.json()["error"]["details"]["jobId"])
    other = (await execute(client, tenant, two["id"], userInput="other")).json()["jobId"]

    assert (await _jobs(client, tenant))["meta"]["total"] == 4
    of_one = await _jobs(client, tenant, assistantId=one["id"])
    assert [job["id"] for job in of_one["data"]] == ids[::-1]  # newest first
    failed = await _jobs(client, tenant, assistantId=one["id"], status="failed")
    assert [job["id"] for job in failed["data"]] == [ids[1]]
    assert failed["data"][0]["error"]["code"] == "PROVIDER_ERROR"
    succeeded = await _jobs(client, tenant, status="succeeded")
    assert {job["id"] for job in succeeded["data"]} == {ids[0], ids[2], other}
    first = await _jobs(client, tenant, limit=3, page=1)
    second = await _jobs(client, tenant, limit=3, page=2)
    assert first["meta"] == {"page": 1, "limit": 3, "total": 4}
    assert [job["id"] for job in first["data"] + second["data"]] == [other, *ids[::-1]]


@pytest.mark.parametrize("params", [{"status": "done"}, {"limit": 0}, {"limit": 101}, {"page": 0}])
async def test_jobs_list_with_bad_parameters_is_400(client, tenant, params):
    response = await client.get("/api/jobs", params=params, headers=tenant.headers)
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_another_companys_job_is_not_found(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text = unique("private job")
    job_id = (await execute(client, tenant, assistant["id"], userInput=text)).json()["jobId"]
    stranger = await new_tenant("stranger")

    got = await client.get(f"/api/jobs/{job_id}", headers=stranger.headers)
    cancelled = await client.post(f"/api/jobs/{job_id}/cancel", headers=stranger.headers)

    assert_error(got, 404, "JOB_NOT_FOUND")
    assert_error(cancelled, 404, "JOB_NOT_FOUND")
    assert text not in got.text
    assert (await _jobs(client, stranger))["meta"]["total"] == 0
    assert (await _jobs(client, stranger, assistantId=assistant["id"]))["data"] == []


async def test_another_companys_queued_job_cannot_be_cancelled(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    head = unique("stranger cannot cancel")
    emu.fault(match=head, status=200, delayMs=1000, times=1)
    first = await execute(client, tenant, assistant["id"], respond_async=True, userInput=head)
    queued = await execute(
        client,
        tenant,
        assistant["id"],
        respond_async=True,
        userInput=unique("queued behind"),
        sessionId=first.json()["sessionId"],
    )
    stranger = await new_tenant("stranger cancel")

    response = await client.post(
        f"/api/jobs/{queued.json()['id']}/cancel", headers=stranger.headers
    )

    assert_error(response, 404, "JOB_NOT_FOUND")
    assert (await wait_for_job(client, tenant.headers, queued.json()["id"]))[
        "status"
    ] == "succeeded"


async def test_another_companys_sessions_are_invisible(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    session_id = (await execute(client, tenant, assistant["id"], userInput="mine")).json()[
        "sessionId"
    ]
    stranger = await new_tenant("session stranger")

    listed = (await client.get("/api/sessions", headers=stranger.headers)).json()
    filtered = (
        await client.get(f"/api/sessions?assistantId={assistant['id']}", headers=stranger.headers)
    ).json()
    got = await client.get(f"/api/sessions/{session_id}", headers=stranger.headers)
    deleted = await client.delete(f"/api/sessions/{session_id}", headers=stranger.headers)

    assert listed["meta"]["total"] == 0 and filtered["data"] == []
    assert_error(got, 404, "SESSION_NOT_FOUND")
    assert_error(deleted, 404, "SESSION_NOT_FOUND")
    mine = await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)
    assert mine.status_code == 200 and mine.json()["messageCount"] == 2


async def test_an_execution_sets_the_assistants_last_accessed_at(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    assert assistant["lastAccessedAt"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)

    await execute(client, tenant, assistant["id"], userInput="touch")

    fetched = (
        await client.get(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    ).json()
    accessed = datetime.fromisoformat(fetched["lastAccessedAt"].replace("Z", "+00:00"))
    assert before <= accessed <= datetime.now(UTC) + timedelta(seconds=1)
