"""Idempotency-Key on execute: a replay returns the same job and never pays twice."""

import asyncio
import uuid

import pytest

from tests.factories import assert_error, create_assistant, new_tenant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import execute, unique

pytestmark = pytest.mark.usefixtures("worker")


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"key-{uuid.uuid4()}"}


async def test_sync_replay_returns_the_same_job_and_calls_the_provider_once(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text, headers = unique("charge my card once"), key()

    first = await execute(client, tenant, assistant["id"], headers=headers, userInput=text)
    second = await execute(client, tenant, assistant["id"], headers=headers, userInput=text)

    assert first.status_code == second.status_code == 200, second.text
    assert first.json() == second.json()
    assert len(emu.requests(contains=text)) == 1
    jobs = (
        await client.get(f"/api/jobs?assistantId={assistant['id']}", headers=tenant.headers)
    ).json()
    assert jobs["meta"]["total"] == 1


async def test_async_replay_returns_the_same_job_and_calls_the_provider_once(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text, headers = unique("async once"), key()

    first = await execute(
        client, tenant, assistant["id"], respond_async=True, headers=headers, userInput=text
    )
    second = await execute(
        client, tenant, assistant["id"], respond_async=True, headers=headers, userInput=text
    )

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Location"] == f"/api/jobs/{first.json()['id']}"
    assert (await wait_for_job(client, tenant.headers, first.json()["id"]))["status"] == "succeeded"
    third = await execute(
        client, tenant, assistant["id"], respond_async=True, headers=headers, userInput=text
    )
    assert third.json()["id"] == first.json()["id"] and third.json()["status"] == "succeeded"
    assert len(emu.requests(contains=text)) == 1


async def test_concurrent_replays_make_one_job(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text, headers = unique("double click"), key()

    responses = await asyncio.gather(
        *(
            execute(client, tenant, assistant["id"], headers=headers, userInput=text)
            for _ in range(4)
        )
    )

    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["jobId"] for r in responses}) == 1
    assert len(emu.requests(contains=text)) == 1


async def test_same_key_with_another_body_is_409(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    headers = key()
    first = await execute(client, tenant, assistant["id"], headers=headers, userInput="first body")
    other = unique("second body")

    response = await execute(client, tenant, assistant["id"], headers=headers, userInput=other)

    assert first.status_code == 200
    assert_error(response, 409, "IDEMPOTENCY_KEY_REUSED")
    assert emu.requests(contains=other) == []


async def test_same_key_on_another_assistant_is_409(client, tenant, emu):
    one = await create_assistant(client, tenant)
    two = await create_assistant(client, tenant, name="Two")
    headers = key()
    await execute(client, tenant, one["id"], headers=headers, userInput="same body")
    response = await execute(client, tenant, two["id"], headers=headers, userInput="same body")
    assert_error(response, 409, "IDEMPOTENCY_KEY_REUSED")


async def test_keys_are_per_company(client, tenant, emu):
    other_company = await new_tenant("other company")
    mine = await create_assistant(client, tenant)
    theirs = await create_assistant(client, other_company)
    text, headers = unique("same key, two companies"), key()

    first = await execute(client, tenant, mine["id"], headers=headers, userInput=text)
    second = await execute(client, other_company, theirs["id"], headers=headers, userInput=text)

    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["jobId"] != second.json()["jobId"]
    assert len(emu.requests(contains=text)) == 2
