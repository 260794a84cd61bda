"""Sessions through the real pipeline: history sent to the provider, ownership, order, the API."""

import pytest

from tests.factories import assert_error, create_assistant, new_tenant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import PROVIDERS, execute, unique
from tests.pipeline.limits_helpers import limit_company

pytestmark = pytest.mark.usefixtures("worker")


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
async def test_later_turns_send_the_earlier_turns_to_the_provider(
    client, tenant, emu, provider, model
):
    assistant = await create_assistant(client, tenant, llmProvider=provider, llmModel=model)
    first, second, third = unique("first question"), unique("second question"), unique("third")

    one = await execute(client, tenant, assistant["id"], userInput=first)
    assert one.status_code == 200, one.text
    session_id = one.json()["sessionId"]
    assert one.json()["response"] == f"Echo: {first} [turns=1]"

    two = await execute(client, tenant, assistant["id"], userInput=second, sessionId=session_id)
    assert two.status_code == 200, two.text
    assert two.json()["sessionId"] == session_id
    assert two.json()["response"] == f"Echo: {second} [turns=3]"
    [call] = emu.requests(contains=second)
    assert first in str(call["body"])
    assert f"Echo: {first} [turns=1]" in str(call["body"])

    three = await execute(client, tenant, assistant["id"], userInput=third, sessionId=session_id)
    assert three.json()["response"] == f"Echo: {third} [turns=5]"
    [call] = emu.requests(contains=third)
    assert first in str(call["body"]) and second in str(call["body"])


async def test_execute_without_session_id_creates_a_session_holding_both_turns(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    text = unique("new conversation")
    response = await execute(client, tenant, assistant["id"], userInput=text)
    assert response.status_code == 200, response.text
    session_id = response.json()["sessionId"]
    assert session_id

    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["assistantId"] == assistant["id"]
    assert detail["messageCount"] == 2
    user, reply = detail["messages"]
    assert (user["role"], user["content"]["text"], user["position"]) == ("user", text, 0)
    assert (reply["role"], reply["content"]["text"]) == ("assistant", response.json()["response"])
    assert user["jobId"] == reply["jobId"] == response.json()["jobId"]


async def test_unknown_session_id_creates_a_session_with_that_id(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    session_id = unique("client-chosen").replace(" ", "-")
    response = await execute(
        client, tenant, assistant["id"], userInput="hello", sessionId=session_id
    )
    assert response.status_code == 200, response.text
    assert response.json()["sessionId"] == session_id
    assert response.json()["response"] == "Echo: hello [turns=1]"
    detail = await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)
    assert detail.status_code == 200
    assert detail.json()["messageCount"] == 2


async def test_session_of_another_assistant_is_a_conflict_and_runs_nothing(client, tenant, emu):
    owner = await create_assistant(client, tenant)
    other = await create_assistant(client, tenant, name="Other")
    first = await execute(client, tenant, owner["id"], userInput="mine")
    session_id = first.json()["sessionId"]
    text = unique("borrowed session")

    response = await execute(client, tenant, other["id"], userInput=text, sessionId=session_id)

    assert_error(response, 409, "SESSION_CONFLICT")
    assert emu.requests(contains=text) == []
    jobs = (await client.get(f"/api/jobs?assistantId={other['id']}", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 0
    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 2


async def test_session_of_another_company_is_a_conflict_without_leaking_its_messages(
    client, tenant, emu
):
    secret = unique("confidential order details")
    owned = await create_assistant(client, tenant)
    first = await execute(client, tenant, owned["id"], userInput=secret)
    session_id = first.json()["sessionId"]
    intruder = await new_tenant("intruder")
    theirs = await create_assistant(client, intruder)

    response = await execute(client, intruder, theirs["id"], userInput="hi", sessionId=session_id)

    error = assert_error(response, 409, "SESSION_CONFLICT")
    assert secret not in response.text and owned["id"] not in str(error)
    assert len(emu.requests(contains=secret)) == 1  # only the owner's own call
    assert (
        await client.get(f"/api/sessions/{session_id}", headers=intruder.headers)
    ).status_code == 404
    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 2


async def test_concurrent_turns_on_one_session_apply_in_arrival_order(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    session_id = unique("ordered").replace(" ", "-")
    texts = [unique(f"turn {i}") for i in range(6)]
    job_ids = []
    for text in texts:
        response = await execute(
            client,
            tenant,
            assistant["id"],
            respond_async=True,
            userInput=text,
            sessionId=session_id,
        )
        assert response.status_code == 202, response.text
        job_ids.append(response.json()["id"])

    for job_id in job_ids:
        assert (await wait_for_job(client, tenant.headers, job_id))["status"] == "succeeded"

    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    contents = [message["content"]["text"] for message in detail["messages"]]
    expected = []
    for i, text in enumerate(texts):
        expected += [text, f"Echo: {text} [turns={2 * i + 1}]"]
    assert contents == expected
    assert [message["jobId"] for message in detail["messages"][::2]] == job_ids
    calls = sorted(emu.requests(contains=session_texts_marker(texts)), key=lambda c: c["id"])
    assert len(calls) == len(texts)
    for i, call in enumerate(calls):  # the i-th call carries turns 0..i and nothing later
        sent = str(call["body"])
        assert all(earlier in sent for earlier in texts[: i + 1])
        assert not any(later in sent for later in texts[i + 1 :])


def session_texts_marker(texts: list[str]) -> str:
    """Every call of the conversation carries its first input."""
    return texts[0]


async def test_sessions_list_filters_by_assistant_and_paginates(client, emu):
    tenant = await new_tenant("sessions list")
    one = await create_assistant(client, tenant)
    two = await create_assistant(client, tenant, name="Two")
    created = []
    for i in range(3):
        response = await execute(client, tenant, one["id"], userInput=f"list {i}")
        created.append(response.json()["sessionId"])
    await execute(client, tenant, two["id"], userInput="other assistant")

    everything = (await client.get("/api/sessions", headers=tenant.headers)).json()
    assert everything["meta"]["total"] == 4
    page_one = (
        await client.get(
            f"/api/sessions?assistantId={one['id']}&limit=2&page=1", headers=tenant.headers
        )
    ).json()
    page_two = (
        await client.get(
            f"/api/sessions?assistantId={one['id']}&limit=2&page=2", headers=tenant.headers
        )
    ).json()
    assert page_one["meta"] == {"page": 1, "limit": 2, "total": 3}
    assert page_two["meta"] == {"page": 2, "limit": 2, "total": 3}
    listed = [s["id"] for s in page_one["data"] + page_two["data"]]
    assert listed == created[::-1]  # newest first, no overlap between pages
    assert all(s["assistantId"] == one["id"] and s["messageCount"] == 2 for s in page_one["data"])


async def test_deleted_session_is_gone_but_its_job_stays(client, tenant, emu):
    assistant = await create_assistant(client, tenant)
    response = await execute(client, tenant, assistant["id"], userInput="to be deleted")
    session_id, job_id = response.json()["sessionId"], response.json()["jobId"]

    deleted = await client.delete(f"/api/sessions/{session_id}", headers=tenant.headers)

    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "message": "Session deleted"}
    assert_error(
        await client.get(f"/api/sessions/{session_id}", headers=tenant.headers),
        404,
        "SESSION_NOT_FOUND",
    )
    assert_error(
        await client.delete(f"/api/sessions/{session_id}", headers=tenant.headers),
        404,
        "SESSION_NOT_FOUND",
    )
    job = await client.get(f"/api/jobs/{job_id}", headers=tenant.headers)
    assert job.status_code == 200 and job.json()["status"] == "succeeded"


async def test_requests_refused_for_their_session_hold_no_concurrency_slot(client, emu):
    tenant = await new_tenant("refused turns")
    await limit_company(tenant.company_id, concurrency=1)
    owner = await create_assistant(client, tenant)
    other = await create_assistant(client, tenant, name="Other")
    session_id = (await execute(client, tenant, owner["id"], userInput="mine")).json()["sessionId"]

    conflict = await execute(client, tenant, other["id"], userInput="x", sessionId=session_id)
    bad_result = await execute(
        client,
        tenant,
        owner["id"],
        sessionId=session_id,
        toolResults=[{"toolCallId": "call_none", "output": "x"}],
    )
    allowed = await execute(client, tenant, other["id"], userInput=unique("still allowed"))

    assert_error(conflict, 409, "SESSION_CONFLICT")
    assert_error(bad_result, 400, "INVALID_TOOL_RESULT")
    assert allowed.status_code == 200, allowed.text
