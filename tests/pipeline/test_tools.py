"""Function tools round trip: the model calls a tool, the client answers on the same session."""

import pytest

from tests.factories import assert_error, create_assistant
from tests.pipeline.helpers import execute, unique

pytestmark = pytest.mark.usefixtures("worker")

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PROVIDERS = [
    ("openai", "gpt-4o", "tool_call_id"),
    ("anthropic", "claude-haiku-4-5", "tool_use_id"),
    ("google", "gemini-2.5-flash", "functionResponse"),
]


async def _tool_call(client, tenant, assistant_id: str) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    text = unique("What is the weather?") + ' [call:get_weather {"city": "Paris"}]'
    response = await execute(client, tenant, assistant_id, userInput=text)
    assert response.status_code == 200, response.text
    body = response.json()
    [call] = body["toolCalls"]
    return body, call


@pytest.mark.parametrize(("provider", "model", "result_field"), PROVIDERS)
async def test_tool_call_round_trip(client, tenant, emu, provider, model, result_field):
    assistant = await create_assistant(
        client, tenant, llmProvider=provider, llmModel=model, tools=[WEATHER]
    )
    body, call = await _tool_call(client, tenant, assistant["id"])
    assert set(call) == {"id", "name", "arguments"}
    assert call["name"] == "get_weather" and call["id"]
    assert call["arguments"] == {"city": "Paris"}
    session_id = body["sessionId"]
    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["messages"][-1]["role"] == "assistant"
    assert detail["messages"][-1]["content"]["toolCalls"] == [call]

    output = unique("18C and sunny")
    answer = await execute(
        client,
        tenant,
        assistant["id"],
        sessionId=session_id,
        toolResults=[{"toolCallId": call["id"], "output": output}],
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["response"].startswith(f"Tool result: {output} [turns=3]")
    assert answer.json()["toolCalls"] == []
    [sent] = emu.requests(contains=output)
    assert result_field in str(sent["body"])
    assert "get_weather" in str(sent["body"])  # the assistant's call went back with the result
    if provider != "google":  # Gemini pairs calls and responses by name, not id
        assert call["id"] in str(sent["body"])
    detail = (await client.get(f"/api/sessions/{session_id}", headers=tenant.headers)).json()
    assert detail["messageCount"] == 4
    assert detail["messages"][2]["content"]["toolResults"] == [
        {"toolCallId": call["id"], "output": output}
    ]


async def test_tool_result_with_an_unknown_call_id_is_400(client, tenant, emu):
    assistant = await create_assistant(client, tenant, tools=[WEATHER])
    body, _ = await _tool_call(client, tenant, assistant["id"])
    output = unique("unasked")

    response = await execute(
        client,
        tenant,
        assistant["id"],
        sessionId=body["sessionId"],
        toolResults=[{"toolCallId": "call_unknown", "output": output}],
    )

    assert_error(response, 400, "INVALID_TOOL_RESULT")
    assert emu.requests(contains=output) == []


async def test_tool_result_on_a_session_that_asked_for_none_is_400(client, tenant, emu):
    assistant = await create_assistant(client, tenant, tools=[WEATHER])
    first = await execute(client, tenant, assistant["id"], userInput="no tools needed")
    response = await execute(
        client,
        tenant,
        assistant["id"],
        sessionId=first.json()["sessionId"],
        toolResults=[{"toolCallId": "call_1", "output": "x"}],
    )
    assert_error(response, 400, "INVALID_TOOL_RESULT")


async def test_tool_results_without_a_session_are_400(client, tenant):
    assistant = await create_assistant(client, tenant, tools=[WEATHER])
    response = await execute(
        client, tenant, assistant["id"], toolResults=[{"toolCallId": "call_1", "output": "x"}]
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 0
