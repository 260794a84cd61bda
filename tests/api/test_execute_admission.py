"""Admission of execute requests that start a new conversation (the one-statement path).

No worker runs here: async requests are answered at admission, so what is checked is what was
written, read back through the API and the database.
"""

import asyncio

from sqlalchemy import func, select

from shared.jobs.fresh_admission import GroupInsert
from shared.models import Job, Session
from tests.factories import assert_error, create_assistant, in_transaction, new_tenant

ASYNC = {"Prefer": "respond-async"}


async def _counts(company_id: str) -> tuple[int, int]:
    async def work(session):  # type: ignore[no-untyped-def]
        jobs = await session.scalar(select(func.count()).where(Job.company_id == company_id))
        sessions = await session.scalar(
            select(func.count()).where(Session.company_id == company_id)
        )
        return jobs, sessions

    return await in_transaction(work)


async def test_the_202_body_is_the_stored_job(client, tenant):
    assistant = await create_assistant(client, tenant, llmModel="gpt-4o-mini")
    url = f"/api/assistants/{assistant['id']}/execute"

    response = await client.post(
        url, json={"userInput": "Hello"}, headers={**tenant.headers, **ASYNC}
    )

    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    stored = await client.get(f"/api/jobs/{job['id']}", headers=tenant.headers)
    assert stored.json() == job
    assert job["status"] == "queued" and job["kind"] == "async" and job["attempts"] == 0
    assert (job["provider"], job["model"], job["promptVersion"]) == ("openai", "gpt-4o-mini", 1)
    assert job["sessionId"] and job["assistantId"] == assistant["id"]
    conversation = await client.get(f"/api/sessions/{job['sessionId']}", headers=tenant.headers)
    assert conversation.status_code == 200, conversation.text


async def test_each_request_starts_its_own_session(client, tenant):
    assistant = await create_assistant(client, tenant)
    url = f"/api/assistants/{assistant['id']}/execute"
    jobs = [
        (
            await client.post(url, json={"userInput": f"q{i}"}, headers={**tenant.headers, **ASYNC})
        ).json()
        for i in range(3)
    ]

    assert len({job["sessionId"] for job in jobs}) == 3
    assert await _counts(tenant.company_id) == (3, 3)


async def test_a_prompt_change_is_seen_by_the_next_request(client, tenant):
    assistant = await create_assistant(client, tenant)
    await client.put(
        f"/api/assistants/{assistant['id']}", json={"llmPrompt": "New"}, headers=tenant.headers
    )

    response = await client.post(
        f"/api/assistants/{assistant['id']}/execute",
        json={"userInput": "Hello"},
        headers={**tenant.headers, **ASYNC},
    )

    assert response.json()["promptVersion"] == 2


async def test_deleted_unknown_or_foreign_assistants_write_nothing(client, tenant):
    deleted = await create_assistant(client, tenant)
    await client.delete(f"/api/assistants/{deleted['id']}", headers=tenant.headers)
    other = await new_tenant("other")
    foreign = await create_assistant(client, other)

    for assistant_id in (deleted["id"], "0" * 24, "not-an-id", foreign["id"]):
        for extra in (ASYNC, {}):
            response = await client.post(
                f"/api/assistants/{assistant_id}/execute",
                json={"userInput": "Hello"},
                headers={**tenant.headers, **extra},
            )
            assert_error(response, 404, "ASSISTANT_NOT_FOUND")

    assert await _counts(tenant.company_id) == (0, 0)
    assert await _counts(other.company_id) == (0, 0)


async def test_concurrent_requests_share_statements_and_each_gets_its_own_answer(
    client, tenant, monkeypatch
):
    """Rows written together: good ones are stored, a missing assistant's fail alone."""
    good = await create_assistant(client, tenant)
    gone = await create_assistant(client, tenant)
    await client.delete(f"/api/assistants/{gone['id']}", headers=tenant.headers)
    writes = 0
    original = GroupInsert._write

    async def counting(self, batch):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        await original(self, batch)

    monkeypatch.setattr(GroupInsert, "_write", counting)
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/assistants/{(good if i % 4 else gone)['id']}/execute",
                json={"userInput": f"q{i}"},
                headers={**tenant.headers, **ASYNC},
            )
            for i in range(40)
        )
    )

    statuses = [r.status_code for r in responses]
    assert statuses == [404 if i % 4 == 0 else 202 for i in range(40)]
    accepted = [r.json() for r in responses if r.status_code == 202]
    assert {job["assistantId"] for job in accepted} == {good["id"]}
    assert len({job["id"] for job in accepted}) == 30
    assert await _counts(tenant.company_id) == (30, 30)
    assert writes < 40  # requests that arrived together were written together
