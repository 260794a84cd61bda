"""The assistants CRUD and `GET /api/models`, to the letter of the spec."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.ids import new_id
from tests.factories import (
    Tenant,
    assert_error,
    assistant_body,
    assistant_row,
    create_assistant,
)

# The spec's own request bodies, verbatim.
SPEC_CREATE_BODY = {
    "name": "Support Agent",
    "description": "Customer support assistant",
    "llmProvider": "openai",
    "llmModel": "gpt-4o",
    "llmPrompt": "You are a helpful customer support agent...",
    "maxTokens": 4096,
    "language": "en",
    "teamIds": ["team-123"],
}
SPEC_UPDATE_BODY = {
    "name": "Updated Name",
    "llmModel": "gpt-4o-mini",
    "llmPrompt": "Updated system prompt...",
}
# The keys of the spec's "List Assistants" item and "Get Assistant" resource.
LIST_ITEM_KEYS = {
    "id",
    "name",
    "description",
    "llmProvider",
    "llmModel",
    "maxTokens",
    "language",
    "teamIds",
    "lastAccessedAt",
    "createdAt",
}
SPEC_RESOURCE_KEYS = LIST_ITEM_KEYS | {"llmPrompt", "voice", "companyId", "updatedAt"}
# `tools` (the functions a model may call) is the one field the service adds to the spec's shape.
RESOURCE_KEYS = SPEC_RESOURCE_KEYS | {"tools"}

ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def parse_ts(value: str) -> datetime:
    assert TIMESTAMP.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def max_output(client: httpx.AsyncClient, tenant: Tenant, model_id: str) -> int:
    models = (await client.get("/api/models", headers=tenant.headers)).json()["data"]
    return next(m["maxOutputTokens"] for m in models if m["id"] == model_id)


async def get(client: httpx.AsyncClient, tenant: Tenant, assistant_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/assistants/{assistant_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def put(
    client: httpx.AsyncClient, tenant: Tenant, assistant_id: str, body: Any
) -> httpx.Response:
    return await client.put(f"/api/assistants/{assistant_id}", json=body, headers=tenant.headers)


async def post_raw(client: httpx.AsyncClient, tenant: Tenant, content: bytes) -> httpx.Response:
    headers = {**tenant.headers, "Content-Type": "application/json"}
    return await client.post("/api/assistants", content=content, headers=headers)


# --- create -------------------------------------------------------------------------------------


async def test_create_with_the_spec_body_returns_201_and_the_full_resource(client, tenant):
    before = datetime.now(UTC)
    response = await client.post("/api/assistants", json=SPEC_CREATE_BODY, headers=tenant.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == RESOURCE_KEYS
    assert {key: body[key] for key in SPEC_CREATE_BODY} == SPEC_CREATE_BODY
    assert body["voice"] is None
    assert body["tools"] == []
    assert body["companyId"] == tenant.company_id
    assert body["lastAccessedAt"] is None
    assert ID.match(body["id"])
    created = parse_ts(body["createdAt"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert body["updatedAt"] == body["createdAt"]


async def test_created_assistant_is_returned_by_get_exactly_as_created(client, tenant):
    created = await create_assistant(client, tenant, voice="alloy")
    assert await get(client, tenant, created["id"]) == created


async def test_only_required_fields_gives_empty_optionals(client, tenant):
    body = {"name": "Minimal", "llmProvider": "google", "llmModel": "gemini-2.5-flash"}
    response = await client.post("/api/assistants", json=body, headers=tenant.headers)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["teamIds"] == [] and created["tools"] == []
    for field in ("description", "llmPrompt", "maxTokens", "language", "voice"):
        assert created[field] is None, field


async def test_ids_are_24_lowercase_hex_and_ordered_by_creation(client, tenant):
    ids = [(await create_assistant(client, tenant, name=f"n{i}"))["id"] for i in range(5)]

    assert all(ID.match(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


@pytest.mark.parametrize("field", ["name", "llmProvider", "llmModel"])
async def test_create_without_a_required_field_is_a_validation_error_naming_it(
    client, tenant, field
):
    body = assistant_body()
    del body[field]
    response = await client.post("/api/assistants", json=body, headers=tenant.headers)
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


@pytest.mark.parametrize("provider", ["azure", "OpenAI", "openai ", ""])
async def test_create_with_an_unsupported_provider_is_invalid_provider(client, tenant, provider):
    response = await client.post(
        "/api/assistants", json=assistant_body(llmProvider=provider), headers=tenant.headers
    )
    error = assert_error(response, 400, "INVALID_PROVIDER")
    assert "openai" in error["message"] and "anthropic" in error["message"]


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-unknown"),
        ("openai", ""),
        ("anthropic", "gpt-4o"),
        ("google", "claude-sonnet-4-5"),
    ],
)
async def test_create_with_a_model_the_provider_does_not_offer_is_invalid_model(
    client, tenant, provider, model
):
    response = await client.post(
        "/api/assistants",
        json=assistant_body(llmProvider=provider, llmModel=model, maxTokens=None),
        headers=tenant.headers,
    )
    error = assert_error(response, 400, "INVALID_MODEL")
    assert f"'{model}'" in error["message"]


async def test_create_max_tokens_up_to_the_model_maximum_is_accepted_and_above_is_rejected(
    client, tenant
):
    limit = await max_output(client, tenant, "gpt-4o")

    at_limit = await create_assistant(client, tenant, maxTokens=limit)
    assert at_limit["maxTokens"] == limit
    response = await client.post(
        "/api/assistants", json=assistant_body(maxTokens=limit + 1), headers=tenant.headers
    )
    error = assert_error(response, 400, "VALIDATION_ERROR", field="maxTokens")
    assert str(limit) in error["message"]


@pytest.mark.parametrize("value", [0, -1, True, "4096", 1.5])
async def test_create_max_tokens_must_be_a_positive_integer(client, tenant, value):
    response = await client.post(
        "/api/assistants", json=assistant_body(maxTokens=value), headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR", field="maxTokens")


@pytest.mark.parametrize("field", ["colour", "llm_model", "companyId", "id"])
async def test_create_with_an_unknown_field_is_rejected_naming_it(client, tenant, field):
    response = await client.post(
        "/api/assistants", json={**assistant_body(), field: "x"}, headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


# --- size limits --------------------------------------------------------------------------------

TOOL = {"name": "lookup_order", "description": "Find an order", "parameters": {"type": "object"}}
TOO_LARGE: list[tuple[str, dict[str, Any], str]] = [
    ("name over 200", {"name": "n" * 201}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("description over 2000", {"description": "d" * 2001}, "description"),
    ("prompt over 100000", {"llmPrompt": "p" * 100_001}, "llmPrompt"),
    ("language over 35", {"language": "l" * 36}, "language"),
    ("voice over 50", {"voice": "v" * 51}, "voice"),
    ("provider over 50", {"llmProvider": "p" * 51}, "llmProvider"),
    ("model id over 100", {"llmModel": "m" * 101}, "llmModel"),
    ("more than 50 teamIds", {"teamIds": [f"t{i}" for i in range(51)]}, "teamIds"),
    ("teamId over 100", {"teamIds": ["t" * 101]}, "teamIds.0"),
    ("empty teamId", {"teamIds": [""]}, "teamIds.0"),
    ("more than 32 tools", {"tools": [{**TOOL, "name": f"t{i}"} for i in range(33)]}, "tools"),
    ("tool name with spaces", {"tools": [{**TOOL, "name": "look up"}]}, "tools.0.name"),
    ("tool name over 64", {"tools": [{**TOOL, "name": "t" * 65}]}, "tools.0.name"),
    (
        "tool description over 1024",
        {"tools": [{**TOOL, "description": "d" * 1025}]},
        "tools.0.description",
    ),
    (
        "tool parameters over 16000 chars",
        {"tools": [{**TOOL, "parameters": {"type": "object", "description": "x" * 16_000}}]},
        "tools.0.parameters",
    ),
    (
        "tool parameters not an object schema",
        {"tools": [{**TOOL, "parameters": {"type": "string"}}]},
        "tools.0.parameters",
    ),
    ("unknown tool field", {"tools": [{**TOOL, "strict": True}]}, "tools.0.strict"),
]


@pytest.mark.parametrize(
    ("overrides", "field"), [case[1:] for case in TOO_LARGE], ids=[case[0] for case in TOO_LARGE]
)
async def test_create_beyond_a_size_limit_is_a_validation_error_naming_the_field(
    client, tenant, overrides, field
):
    response = await client.post(
        "/api/assistants", json=assistant_body(**overrides), headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


async def test_create_at_every_size_limit_is_accepted(client, tenant):
    at_limits = {
        "name": "n" * 200,
        "description": "d" * 2000,
        "llmPrompt": "p" * 100_000,
        "language": "l" * 35,
        "voice": "v" * 50,
        "teamIds": ["t" * 100] + [f"team-{i}" for i in range(49)],
        "tools": [{**TOOL, "name": f"tool_{i}"} for i in range(32)],
    }
    created = await create_assistant(client, tenant, **at_limits)

    stored = await get(client, tenant, created["id"])
    for field, value in at_limits.items():
        if field == "tools":
            assert [tool["name"] for tool in stored["tools"]] == [t["name"] for t in value]
        else:
            assert stored[field] == value, field


async def test_create_keeps_tools_with_their_defaults(client, tenant):
    created = await create_assistant(client, tenant, tools=[{"name": "ping"}])
    assert created["tools"] == [
        {"name": "ping", "description": "", "parameters": {"type": "object", "properties": {}}}
    ]


# --- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"name": "Support Agent",', b"{'name': 'x'}", b"not json", b'{"name": "\\x"}'],
    ids=["truncated", "single quotes", "bare words", "bad escape"],
)
async def test_malformed_json_is_a_400_validation_error_not_a_500(client, tenant, content):
    error = assert_error(await post_raw(client, tenant, content), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "body"
    assert "JSON" in error["details"][0]["message"]


async def test_malformed_json_on_update_is_a_400_validation_error(client, tenant):
    created = await create_assistant(client, tenant)
    response = await client.put(
        f"/api/assistants/{created['id']}",
        content=b'{"name": ',
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "VALIDATION_ERROR", field="body")


async def test_body_that_is_not_utf8_is_a_400_validation_error(client, tenant):
    response = await post_raw(client, tenant, b'{"name": "\xff\xfe"}')
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("content", [b"[]", b'"Support Agent"', b"42", b"null", b"true"])
async def test_json_body_that_is_not_an_object_is_a_400_validation_error(client, tenant, content):
    assert_error(await post_raw(client, tenant, content), 400, "VALIDATION_ERROR", field="body")


async def test_missing_body_is_a_400_validation_error(client, tenant):
    response = await client.post("/api/assistants", headers=tenant.headers)
    assert_error(response, 400, "VALIDATION_ERROR", field="body")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Support\x00Agent"}, "name"),
        ({"llmPrompt": "You are\x00"}, "llmPrompt"),
        ({"teamIds": ["team\x00"]}, "teamIds.0"),
        (
            {"tools": [{**TOOL, "parameters": {"type": "object", "x": "\x00"}}]},
            "tools.0.parameters",
        ),
        ({"tools": [{**TOOL, "parameters": {"type": "object", "\x00": 1}}]}, "tools.0.parameters"),
    ],
    ids=["name", "prompt", "teamId", "tool schema value", "tool schema key"],
)
async def test_text_with_a_nul_character_is_rejected_not_a_500(client, tenant, overrides, field):
    response = await client.post(
        "/api/assistants", json=assistant_body(**overrides), headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
async def test_non_finite_numbers_in_tool_schemas_are_rejected_not_stored_as_null(
    client, tenant, number
):
    content = (
        b'{"name": "x", "llmProvider": "openai", "llmModel": "gpt-4o", "tools": '
        b'[{"name": "t", "parameters": {"type": "object", "maximum": ' + number + b"}}]}"
    )
    response = await post_raw(client, tenant, content)
    assert_error(response, 400, "VALIDATION_ERROR", field="tools.0.parameters")


async def test_huge_integer_in_a_body_is_a_400_not_a_500(client, tenant):
    content = b'{"name": "x", "llmProvider": "openai", "llmModel": "gpt-4o", "maxTokens": '
    response = await post_raw(client, tenant, content + b"9" * 5000 + b"}")
    assert_error(response, 400, "VALIDATION_ERROR")


# --- get ----------------------------------------------------------------------------------------


async def test_get_returns_the_spec_single_resource_shape(client, tenant):
    created = await create_assistant(client, tenant)
    body = await get(client, tenant, created["id"])

    assert set(body) == RESOURCE_KEYS
    assert body["llmPrompt"] == SPEC_CREATE_BODY["llmPrompt"]
    assert body["companyId"] == tenant.company_id
    for key in ("createdAt", "updatedAt"):
        assert body[key].endswith("Z")
        parse_ts(body[key])


@pytest.mark.parametrize(
    "assistant_id",
    [new_id(), "681b41850f470a9a746f280e", "not-an-id", "A" * 24, "x" * 500, "a%00b"],
    ids=["fresh id", "spec example id", "word", "uppercase hex", "very long", "nul"],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_or_malformed_id_is_assistant_not_found(client, tenant, method, assistant_id):
    response = await client.request(
        method,
        f"/api/assistants/{assistant_id}",
        json={"name": "x"} if method == "PUT" else None,
        headers=tenant.headers,
    )
    error = assert_error(response, 404, "ASSISTANT_NOT_FOUND")
    assert "details" not in error


# --- update -------------------------------------------------------------------------------------


async def test_update_with_the_spec_body_changes_only_those_fields(client, tenant):
    created = await create_assistant(client, tenant, voice="alloy", teamIds=["team-123", "ops"])

    response = await put(client, tenant, created["id"], SPEC_UPDATE_BODY)

    assert response.status_code == 200, response.text
    updated = response.json()
    assert set(updated) == RESOURCE_KEYS
    assert {key: updated[key] for key in SPEC_UPDATE_BODY} == SPEC_UPDATE_BODY
    unchanged = RESOURCE_KEYS - set(SPEC_UPDATE_BODY) - {"updatedAt"}
    assert {k: updated[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert parse_ts(updated["updatedAt"]) > parse_ts(created["updatedAt"])
    assert await get(client, tenant, created["id"]) == updated


async def test_update_with_an_empty_body_changes_no_field(client, tenant):
    created = await create_assistant(client, tenant)
    response = await put(client, tenant, created["id"], {})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert {k: v for k, v in updated.items() if k != "updatedAt"} == {
        k: v for k, v in created.items() if k != "updatedAt"
    }


async def test_update_null_clears_every_optional_field(client, tenant):
    created = await create_assistant(client, tenant, voice="alloy", tools=[TOOL])
    cleared = ("description", "llmPrompt", "maxTokens", "language", "voice", "teamIds", "tools")

    response = await put(client, tenant, created["id"], dict.fromkeys(cleared))

    assert response.status_code == 200, response.text
    updated = response.json()
    for field in ("description", "llmPrompt", "maxTokens", "language", "voice"):
        assert updated[field] is None, field
    assert updated["teamIds"] == [] and updated["tools"] == []
    assert updated["name"] == created["name"]
    assert updated["llmModel"] == created["llmModel"]


@pytest.mark.parametrize("field", ["name", "llmProvider", "llmModel"])
async def test_update_null_on_a_required_field_is_rejected_and_changes_nothing(
    client, tenant, field
):
    created = await create_assistant(client, tenant)

    response = await put(client, tenant, created["id"], {field: None, "description": "new"})

    assert_error(response, 400, "VALIDATION_ERROR", field=field)
    assert await get(client, tenant, created["id"]) == created


@pytest.mark.parametrize("field", ["colour", "llm_prompt", "companyId", "createdAt"])
async def test_update_with_an_unknown_field_is_rejected_naming_it(client, tenant, field):
    created = await create_assistant(client, tenant)

    response = await put(client, tenant, created["id"], {"name": "Renamed", field: "x"})

    assert_error(response, 400, "VALIDATION_ERROR", field=field)
    assert (await get(client, tenant, created["id"]))["name"] == created["name"]


async def test_update_switching_the_provider_alone_revalidates_the_current_model(client, tenant):
    created = await create_assistant(client, tenant)  # openai / gpt-4o

    response = await put(client, tenant, created["id"], {"llmProvider": "anthropic"})

    assert_error(response, 400, "INVALID_MODEL")
    assert (await get(client, tenant, created["id"]))["llmProvider"] == "openai"


async def test_update_switching_the_model_alone_to_another_providers_model_is_invalid_model(
    client, tenant
):
    created = await create_assistant(client, tenant)
    response = await put(client, tenant, created["id"], {"llmModel": "claude-sonnet-4-5"})
    assert_error(response, 400, "INVALID_MODEL")


async def test_update_to_an_unsupported_provider_is_invalid_provider(client, tenant):
    created = await create_assistant(client, tenant)
    response = await put(client, tenant, created["id"], {"llmProvider": "mistral"})
    assert_error(response, 400, "INVALID_PROVIDER")


async def test_update_switching_provider_and_model_together_succeeds(client, tenant):
    created = await create_assistant(client, tenant)

    response = await put(
        client,
        tenant,
        created["id"],
        {"llmProvider": "anthropic", "llmModel": "claude-sonnet-4-5", "maxTokens": 8000},
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["llmProvider"], updated["llmModel"], updated["maxTokens"]) == (
        "anthropic",
        "claude-sonnet-4-5",
        8000,
    )


async def test_update_max_tokens_above_the_model_maximum_is_rejected(client, tenant):
    created = await create_assistant(client, tenant)
    limit = await max_output(client, tenant, "gpt-4o")

    response = await put(client, tenant, created["id"], {"maxTokens": limit + 1})

    assert_error(response, 400, "VALIDATION_ERROR", field="maxTokens")
    assert (await get(client, tenant, created["id"]))["maxTokens"] == created["maxTokens"]


async def test_update_to_a_model_with_a_lower_maximum_than_the_current_max_tokens_is_rejected(
    client, tenant
):
    created = await create_assistant(client, tenant, llmModel="gpt-5", maxTokens=100_000)

    response = await put(client, tenant, created["id"], {"llmModel": "gpt-4o"})

    assert_error(response, 400, "VALIDATION_ERROR", field="maxTokens")
    # Lowering maxTokens in the same request makes the switch valid.
    response = await put(client, tenant, created["id"], {"llmModel": "gpt-4o", "maxTokens": 1000})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "n" * 201}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"llmPrompt": "p" * 100_001}, "llmPrompt"),
        ({"teamIds": [f"t{i}" for i in range(51)]}, "teamIds"),
        ({"teamIds": ["t" * 101]}, "teamIds.0"),
        ({"maxTokens": True}, "maxTokens"),
        ({"changeNote": "c" * 1001}, "changeNote"),
    ],
    ids=["name", "description", "prompt", "teamIds", "teamId", "maxTokens bool", "changeNote"],
)
async def test_update_beyond_a_size_limit_is_a_validation_error(client, tenant, overrides, field):
    created = await create_assistant(client, tenant)
    response = await put(client, tenant, created["id"], overrides)
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


@pytest.mark.parametrize("content", [b"[]", b"null", b'"x"'])
async def test_update_body_that_is_not_an_object_is_a_400(client, tenant, content):
    created = await create_assistant(client, tenant)
    response = await client.put(
        f"/api/assistants/{created['id']}",
        content=content,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "VALIDATION_ERROR", field="body")


# --- delete -------------------------------------------------------------------------------------


async def test_delete_answers_the_spec_body(client, tenant):
    created = await create_assistant(client, tenant)

    response = await client.delete(f"/api/assistants/{created['id']}", headers=tenant.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "message": "Assistant deleted"}


async def test_deleted_assistant_is_not_found_everywhere(client, tenant):
    kept = await create_assistant(client, tenant, name="Kept")
    deleted = await create_assistant(client, tenant, name="Deleted")
    await client.delete(f"/api/assistants/{deleted['id']}", headers=tenant.headers)
    url = f"/api/assistants/{deleted['id']}"

    assert_error(await client.get(url, headers=tenant.headers), 404, "ASSISTANT_NOT_FOUND")
    assert_error(
        await client.put(url, json={"name": "Back"}, headers=tenant.headers),
        404,
        "ASSISTANT_NOT_FOUND",
    )
    assert_error(await client.delete(url, headers=tenant.headers), 404, "ASSISTANT_NOT_FOUND")
    listing = (await client.get("/api/assistants", headers=tenant.headers)).json()
    assert [item["id"] for item in listing["data"]] == [kept["id"]]
    assert listing["meta"]["total"] == 1


async def test_delete_keeps_the_row_for_accounting(client, tenant):
    created = await create_assistant(client, tenant)
    await client.delete(f"/api/assistants/{created['id']}", headers=tenant.headers)

    row = await assistant_row(created["id"])

    assert row is not None and row.deleted_at is not None
    assert row.name == created["name"]


# --- models -------------------------------------------------------------------------------------


async def test_models_lists_the_catalogue_with_limits_and_prices(client, tenant):
    response = await client.get("/api/models", headers=tenant.headers)

    assert response.status_code == 200, response.text
    models = response.json()["data"]
    assert {m["provider"] for m in models} == {"openai", "anthropic", "google"}
    for model in models:
        assert set(model) == {
            "id",
            "provider",
            "contextWindow",
            "maxOutputTokens",
            "supportsImages",
            "inputPricePerMillion",
            "outputPricePerMillion",
        }
        assert model["contextWindow"] > 0 and model["maxOutputTokens"] > 0
        assert model["inputPricePerMillion"] >= 0 and model["outputPricePerMillion"] >= 0
    assert [(m["provider"], m["id"]) for m in models] == sorted(
        (m["provider"], m["id"]) for m in models
    )
    assert {"gpt-4o", "gpt-4o-mini"} <= {m["id"] for m in models}  # the spec's examples


async def test_every_listed_model_can_back_an_assistant(client, tenant):
    models = (await client.get("/api/models", headers=tenant.headers)).json()["data"]
    for model in models:
        body = {"name": model["id"], "llmProvider": model["provider"], "llmModel": model["id"]}
        body["maxTokens"] = model["maxOutputTokens"]
        response = await client.post("/api/assistants", json=body, headers=tenant.headers)
        assert response.status_code == 201, (model["id"], response.text)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/assistants"),
        ("POST", "/api/assistants"),
        ("GET", "/api/assistants/{id}"),
        ("PUT", "/api/assistants/{id}"),
        ("DELETE", "/api/assistants/{id}"),
        ("GET", "/api/models"),
    ],
)
async def test_every_crud_endpoint_without_a_key_is_unauthorized(client, tenant, method, path):
    created = await create_assistant(client, tenant)
    response = await client.request(
        method, path.format(id=created["id"]), json=assistant_body() if method != "GET" else None
    )
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await get(client, tenant, created["id"])) == created


async def test_unknown_route_is_an_enveloped_404(client, tenant):
    assert_error(await client.get("/api/nothing-here", headers=tenant.headers), 404, "NOT_FOUND")


async def test_wrong_method_is_an_enveloped_405_listing_every_allowed_method(client, tenant):
    response = await client.patch(f"/api/assistants/{new_id()}", headers=tenant.headers)

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    response = await client.delete("/api/assistants", headers=tenant.headers)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
