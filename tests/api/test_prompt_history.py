"""Prompt history through HTTP: versions, compare, rollback, concurrency and tenancy."""

import asyncio
import difflib
from typing import Any

import httpx
import pytest

from tests.factories import Tenant, add_key, assert_error, create_assistant, new_tenant

MISSING_ASSISTANT = "ffffffffffffffffffffffff"


def history(assistant_id: str, suffix: str = "") -> str:
    return f"/api/assistants/{assistant_id}/prompt-history{suffix}"


async def put_prompt(
    client: httpx.AsyncClient, tenant: Tenant, assistant_id: str, prompt: str, **extra: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/api/assistants/{assistant_id}",
        json={"llmPrompt": prompt, **extra},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def versions(client: httpx.AsyncClient, tenant: Tenant, assistant_id: str) -> list[dict]:
    response = await client.get(
        history(assistant_id), params={"limit": 100}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def assistant_with_prompts(
    client: httpx.AsyncClient, tenant: Tenant, *prompts: str
) -> dict[str, Any]:
    """An assistant whose versions 1..n hold `prompts` in order."""
    assistant = await create_assistant(client, tenant, llmPrompt=prompts[0])
    for prompt in prompts[1:]:
        await put_prompt(client, tenant, assistant["id"], prompt)
    return assistant


# -- recording versions -------------------------------------------------------------------------


async def test_create_records_version_1_made_by_the_calling_key(client, tenant):
    key_id, same_company = await add_key(tenant)
    assistant = await create_assistant(client, same_company, llmPrompt="Be helpful.")
    response = await client.get(history(assistant["id"]), headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"] == {"page": 1, "limit": 20, "total": 1}
    [item] = body["data"]
    created_at = item.pop("createdAt")
    assert created_at.endswith("Z")
    assert item == {
        "version": 1,
        "source": "create",
        "restoredFrom": None,
        "changeNote": None,
        "createdBy": key_id,
        "llmProvider": "openai",
        "llmModel": "gpt-4o",
        "maxTokens": 4096,
        "preview": "Be helpful.",
        "promptLength": 11,
        "isCurrent": True,
    }


async def test_update_of_the_prompt_records_the_next_version_with_its_change_note(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt="First.")
    await put_prompt(client, tenant, assistant["id"], "Second.", changeNote="Shorter answers")
    newest, oldest = await versions(client, tenant, assistant["id"])
    assert (newest["version"], newest["source"], newest["changeNote"]) == (
        2,
        "update",
        "Shorter answers",
    )
    assert newest["preview"] == "Second." and newest["isCurrent"] is True
    assert oldest["version"] == 1 and oldest["isCurrent"] is False


async def test_update_that_does_not_change_the_prompt_records_no_version(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt="Same.")
    await put_prompt(client, tenant, assistant["id"], "Same.", changeNote="no-op")
    renamed = await client.put(
        f"/api/assistants/{assistant['id']}", json={"name": "Renamed"}, headers=tenant.headers
    )
    assert renamed.status_code == 200
    [only] = await versions(client, tenant, assistant["id"])
    assert only["version"] == 1 and only["changeNote"] is None


async def test_version_keeps_the_provider_model_and_max_tokens_in_force(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt="One.")
    await put_prompt(
        client,
        tenant,
        assistant["id"],
        "Two.",
        llmProvider="anthropic",
        llmModel="claude-haiku-4-5",
        maxTokens=512,
    )
    newest, oldest = await versions(client, tenant, assistant["id"])
    assert (newest["llmProvider"], newest["llmModel"], newest["maxTokens"]) == (
        "anthropic",
        "claude-haiku-4-5",
        512,
    )
    assert (oldest["llmProvider"], oldest["llmModel"], oldest["maxTokens"]) == (
        "openai",
        "gpt-4o",
        4096,
    )


async def test_assistant_without_a_prompt_has_an_empty_version_1(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt=None)
    [item] = await versions(client, tenant, assistant["id"])
    assert (item["preview"], item["promptLength"]) == (None, 0)
    detail = (await client.get(history(assistant["id"], "/1"), headers=tenant.headers)).json()
    assert detail["prompt"] is None


# -- list and get ------------------------------------------------------------------------------


async def test_list_is_newest_first_and_paginated_like_the_assistants_list(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "p1", "p2", "p3", "p4", "p5")
    pages = {}
    for page in (1, 2, 3, 4):
        response = await client.get(
            history(assistant["id"]), params={"page": page, "limit": 2}, headers=tenant.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["meta"] == {"page": page, "limit": 2, "total": 5}
        pages[page] = [
            (item["version"], item["preview"], item["isCurrent"]) for item in body["data"]
        ]
    assert pages == {
        1: [(5, "p5", True), (4, "p4", False)],
        2: [(3, "p3", False), (2, "p2", False)],
        3: [(1, "p1", False)],
        4: [],
    }


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"limit": 0}, {"limit": 101}, {"page": "x"}, {"limit": "1.5"}]
)
async def test_list_with_bad_pagination_is_400(client, tenant, params):
    assistant = await create_assistant(client, tenant)
    response = await client.get(history(assistant["id"]), params=params, headers=tenant.headers)
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_list_preview_is_the_first_200_characters_and_get_returns_the_full_text(
    client, tenant
):
    prompt = "".join(f"{i:04d} " for i in range(100))  # 500 characters
    assistant = await create_assistant(client, tenant, llmPrompt=prompt)
    [item] = await versions(client, tenant, assistant["id"])
    assert item["preview"] == prompt[:200]
    assert item["promptLength"] == 500
    response = await client.get(history(assistant["id"], "/1"), headers=tenant.headers)
    assert response.status_code == 200
    detail = response.json()
    assert detail["prompt"] == prompt
    assert "preview" not in detail
    assert {k: v for k, v in detail.items() if k != "prompt"} == {
        k: v for k, v in item.items() if k != "preview"
    }


async def test_get_version_of_an_older_version_is_not_current(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "old", "new")
    detail = (await client.get(history(assistant["id"], "/1"), headers=tenant.headers)).json()
    assert (detail["prompt"], detail["isCurrent"]) == ("old", False)


@pytest.mark.parametrize("version", ["0", "-1", "3", "2147483647", "2147483648", "9" * 40])
async def test_get_a_version_that_does_not_exist_is_404(client, tenant, version):
    assistant = await assistant_with_prompts(client, tenant, "a", "b")
    response = await client.get(history(assistant["id"], f"/{version}"), headers=tenant.headers)
    assert_error(response, 404, "PROMPT_VERSION_NOT_FOUND")


@pytest.mark.parametrize("version", ["abc", "1.5", "1e3", "v1", "%20", "one"])
async def test_a_non_numeric_version_is_400(client, tenant, version):
    assistant = await create_assistant(client, tenant)
    got = await client.get(history(assistant["id"], f"/{version}"), headers=tenant.headers)
    assert_error(got, 400, "VALIDATION_ERROR", field="path.version")
    rolled = await client.post(
        history(assistant["id"], f"/{version}/rollback"), headers=tenant.headers
    )
    assert_error(rolled, 400, "VALIDATION_ERROR", field="path.version")


async def test_version_numbers_belong_to_one_assistant(client, tenant):
    three = await assistant_with_prompts(client, tenant, "a", "b", "c")
    one = await create_assistant(client, tenant)
    assert (await client.get(history(three["id"], "/3"), headers=tenant.headers)).status_code == 200
    response = await client.get(history(one["id"], "/3"), headers=tenant.headers)
    assert_error(response, 404, "PROMPT_VERSION_NOT_FOUND")


# -- compare -----------------------------------------------------------------------------------

V1 = "You are a support agent.\nBe polite.\nAnswer in English."
V2 = "You are a support agent.\nBe concise.\nAnswer in English.\nSign off as Ava."


async def test_compare_gives_the_unified_diff_hunks_and_exact_summary(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, V1, V2)
    response = await client.get(
        history(assistant["id"], "/compare"), params={"v1": 1, "v2": 2}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "v1": 1,
        "v2": 2,
        "unifiedDiff": (
            "--- v1\n+++ v2\n@@ -1,3 +1,4 @@\n You are a support agent.\n-Be polite.\n"
            "+Be concise.\n Answer in English.\n+Sign off as Ava."
        ),
        "hunks": [
            {
                "oldStart": 1,
                "oldLines": 3,
                "newStart": 1,
                "newLines": 4,
                "lines": [
                    {"type": "context", "text": "You are a support agent."},
                    {"type": "removed", "text": "Be polite."},
                    {"type": "added", "text": "Be concise."},
                    {"type": "context", "text": "Answer in English."},
                    {"type": "added", "text": "Sign off as Ava."},
                ],
            }
        ],
        # 54 + 72 characters; "polite" (6) removed; "concise" (7) and ".\nSign off as Ava" (17)
        # added; 48 characters matched: similarity 96 / 126.
        "summary": {
            "linesAdded": 2,
            "linesRemoved": 1,
            "charactersChanged": 30,
            "similarity": 0.7619,
        },
    }


async def test_compare_the_other_way_round_swaps_added_and_removed(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, V1, V2)
    response = await client.get(
        history(assistant["id"], "/compare"), params={"v1": 2, "v2": 1}, headers=tenant.headers
    )
    body = response.json()
    assert body["unifiedDiff"].startswith("--- v2\n+++ v1\n@@ -1,4 +1,3 @@\n")
    assert body["summary"] == {
        "linesAdded": 1,
        "linesRemoved": 2,
        "charactersChanged": 30,
        "similarity": 0.7619,
    }


async def test_compare_of_far_apart_changes_gives_separate_hunks_like_difflib(client, tenant):
    old = "\n".join(f"Rule {i}." for i in range(1, 21))
    new = old.replace("Rule 2.", "Rule two.").replace("Rule 19.", "Rule 19!\nRule 19b.")
    assistant = await assistant_with_prompts(client, tenant, old, new)
    body = (
        await client.get(
            history(assistant["id"], "/compare"), params={"v1": 1, "v2": 2}, headers=tenant.headers
        )
    ).json()
    expected = difflib.unified_diff(old.splitlines(), new.splitlines(), "v1", "v2", lineterm="")
    assert body["unifiedDiff"] == "\n".join(expected)
    assert [
        (h["oldStart"], h["oldLines"], h["newStart"], h["newLines"]) for h in body["hunks"]
    ] == [
        (1, 5, 1, 5),
        (16, 5, 16, 6),
    ]
    assert body["summary"]["linesAdded"] == 3
    assert body["summary"]["linesRemoved"] == 2


async def test_compare_a_version_with_itself_is_an_empty_diff(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, V1, V2)
    response = await client.get(
        history(assistant["id"], "/compare"), params={"v1": 2, "v2": 2}, headers=tenant.headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "v1": 2,
        "v2": 2,
        "unifiedDiff": "",
        "hunks": [],
        "summary": {"linesAdded": 0, "linesRemoved": 0, "charactersChanged": 0, "similarity": 1.0},
    }


async def test_compare_of_a_restored_version_with_its_origin_is_identical(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, V1, V2)
    await client.post(history(assistant["id"], "/1/rollback"), headers=tenant.headers)
    body = (
        await client.get(
            history(assistant["id"], "/compare"), params={"v1": 1, "v2": 3}, headers=tenant.headers
        )
    ).json()
    assert body["hunks"] == [] and body["summary"]["similarity"] == 1.0


@pytest.mark.parametrize(
    ("params", "missing"),
    [({"v1": 1, "v2": 9}, "9"), ({"v1": 7, "v2": 1}, "7"), ({"v1": 0, "v2": -3}, "0 or -3")],
)
async def test_compare_with_a_missing_version_is_404(client, tenant, params, missing):
    assistant = await create_assistant(client, tenant)
    response = await client.get(
        history(assistant["id"], "/compare"), params=params, headers=tenant.headers
    )
    error = assert_error(response, 404, "PROMPT_VERSION_NOT_FOUND")
    assert error["message"].endswith(f"version {missing}")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.v1"),
        ({"v1": 1}, "query.v2"),
        ({"v2": 1}, "query.v1"),
        ({"v1": "one", "v2": 1}, "query.v1"),
        ({"v1": 1, "v2": "2.5"}, "query.v2"),
    ],
)
async def test_compare_without_integer_versions_is_400(client, tenant, params, field):
    assistant = await create_assistant(client, tenant)
    response = await client.get(
        history(assistant["id"], "/compare"), params=params, headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR", field=field)


# -- rollback ----------------------------------------------------------------------------------


async def rollback(
    client: httpx.AsyncClient, tenant: Tenant, assistant_id: str, version: int, **body: Any
) -> httpx.Response:
    return await client.post(
        history(assistant_id, f"/{version}/rollback"),
        json=body or None,
        headers=tenant.headers,
    )


async def test_rollback_records_a_new_version_and_makes_its_text_current(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "one", "two", "three")
    response = await rollback(client, tenant, assistant["id"], 1)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 4
    current = (
        await client.get(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    ).json()
    assert body["assistant"] == current
    assert current["llmPrompt"] == "one"
    v4 = (await client.get(history(assistant["id"], "/4"), headers=tenant.headers)).json()
    assert (v4["source"], v4["restoredFrom"], v4["prompt"], v4["isCurrent"]) == (
        "rollback",
        1,
        "one",
        True,
    )


async def test_rollback_chain_keeps_history_append_only(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "one", "two", "three")
    assert (await rollback(client, tenant, assistant["id"], 1)).json()["version"] == 4
    assert (await rollback(client, tenant, assistant["id"], 2)).json()["version"] == 5
    assert (await rollback(client, tenant, assistant["id"], 4)).json()["version"] == 6
    items = await versions(client, tenant, assistant["id"])
    assert [(i["version"], i["source"], i["restoredFrom"], i["preview"]) for i in items] == [
        (6, "rollback", 4, "one"),
        (5, "rollback", 2, "two"),
        (4, "rollback", 1, "one"),
        (3, "update", None, "three"),
        (2, "update", None, "two"),
        (1, "create", None, "one"),
    ]
    current = (
        await client.get(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    ).json()
    assert current["llmPrompt"] == "one"


async def test_rollback_then_update_continues_the_numbering(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    await rollback(client, tenant, assistant["id"], 1)
    await put_prompt(client, tenant, assistant["id"], "four")
    [newest, *_] = await versions(client, tenant, assistant["id"])
    assert (newest["version"], newest["source"], newest["preview"]) == (4, "update", "four")


async def test_rollback_stores_its_change_note_and_the_calling_key(client, tenant):
    key_id, same_company = await add_key(tenant)
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    response = await rollback(client, same_company, assistant["id"], 1, changeNote="v2 rambled")
    assert response.status_code == 200
    v3 = (await client.get(history(assistant["id"], "/3"), headers=tenant.headers)).json()
    assert (v3["changeNote"], v3["createdBy"]) == ("v2 rambled", key_id)


async def test_rollback_keeps_the_current_model(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "one")
    await put_prompt(client, tenant, assistant["id"], "two", llmModel="gpt-4o-mini")
    body = (await rollback(client, tenant, assistant["id"], 1)).json()
    assert (body["assistant"]["llmModel"], body["assistant"]["llmPrompt"]) == ("gpt-4o-mini", "one")
    v3 = (await client.get(history(assistant["id"], "/3"), headers=tenant.headers)).json()
    assert v3["llmModel"] == "gpt-4o-mini"


async def test_rollback_to_the_prompt_already_in_use_is_409_and_records_nothing(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    current = await rollback(client, tenant, assistant["id"], 2)
    assert_error(current, 409, "PROMPT_ALREADY_CURRENT")
    assert (await rollback(client, tenant, assistant["id"], 1)).status_code == 200
    again = await rollback(client, tenant, assistant["id"], 1)  # v3 already holds v1's text
    assert_error(again, 409, "PROMPT_ALREADY_CURRENT")
    assert [i["version"] for i in await versions(client, tenant, assistant["id"])] == [3, 2, 1]


@pytest.mark.parametrize("version", [0, 3, 2147483648])
async def test_rollback_to_a_missing_version_is_404(client, tenant, version):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    response = await rollback(client, tenant, assistant["id"], version)
    assert_error(response, 404, "PROMPT_VERSION_NOT_FOUND")


@pytest.mark.parametrize("body", [{"note": "x"}, {"changeNote": 5}, {"changeNote": "x" * 1001}])
async def test_rollback_with_a_bad_body_is_400(client, tenant, body):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    response = await client.post(
        history(assistant["id"], "/1/rollback"), json=body, headers=tenant.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR")


# -- concurrency --------------------------------------------------------------------------------


async def assert_contiguous_history(client, tenant, assistant_id: str, count: int) -> list[dict]:
    items = await versions(client, tenant, assistant_id)
    assert [i["version"] for i in items] == list(range(count, 0, -1))
    current = (await client.get(f"/api/assistants/{assistant_id}", headers=tenant.headers)).json()
    latest = (await client.get(history(assistant_id, f"/{count}"), headers=tenant.headers)).json()
    assert current["llmPrompt"] == latest["prompt"]
    assert [i["isCurrent"] for i in items] == [True] + [False] * (count - 1)
    return items


async def test_parallel_updates_get_contiguous_unique_versions_and_lose_nothing(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt="original")
    prompts = [f"prompt number {i}" for i in range(10)]
    responses = await asyncio.gather(
        *(
            client.put(
                f"/api/assistants/{assistant['id']}",
                json={"llmPrompt": prompt},
                headers=tenant.headers,
            )
            for prompt in prompts
        )
    )
    assert [r.status_code for r in responses] == [200] * 10
    await assert_contiguous_history(client, tenant, assistant["id"], 11)
    texts = []
    for version in range(1, 12):
        detail = await client.get(history(assistant["id"], f"/{version}"), headers=tenant.headers)
        texts.append(detail.json()["prompt"])
    assert sorted(texts) == sorted(["original", *prompts])


async def test_parallel_updates_and_rollbacks_are_numbered_one_after_the_other(client, tenant):
    assistant = await create_assistant(client, tenant, llmPrompt="original")
    updates = [
        client.put(
            f"/api/assistants/{assistant['id']}",
            json={"llmPrompt": f"p{i}"},
            headers=tenant.headers,
        )
        for i in range(6)
    ]
    rollbacks = [rollback(client, tenant, assistant["id"], 1) for _ in range(4)]
    responses = await asyncio.gather(*updates, *rollbacks)
    statuses = [r.status_code for r in responses]
    assert statuses[:6] == [200] * 6
    assert set(statuses[6:]) <= {200, 409}  # 409 when "original" was already current
    recorded = 1 + statuses.count(200)
    items = await assert_contiguous_history(client, tenant, assistant["id"], recorded)
    assert sum(i["source"] == "rollback" for i in items) == statuses[6:].count(200)


# -- statistics without executions ---------------------------------------------------------------


async def test_statistics_of_a_history_without_executions(client, tenant):
    assistant = await assistant_with_prompts(client, tenant, "1234", "12345678")
    await rollback(client, tenant, assistant["id"], 1)
    response = await client.get(history(assistant["id"], "/statistics"), headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = await versions(client, tenant, assistant["id"])
    assert body["firstChangeAt"] == items[-1]["createdAt"]
    assert body["lastChangeAt"] == items[0]["createdAt"]
    assert {k: body[k] for k in body if not k.endswith("ChangeAt") and k != "versions"} == {
        "totalVersions": 3,
        "currentVersion": 3,
        "changesPerWeek": 2.0,  # two changes; a history younger than a week counts as one week
        "rollbacks": 1,
        "averagePromptLength": 5.3,  # (4 + 8 + 4) / 3
    }
    assert [v["version"] for v in body["versions"]] == [3, 2, 1]
    assert body["versions"][0] == {
        "version": 3,
        "executions": 0,
        "succeeded": 0,
        "failed": 0,
        "successRate": None,
        "averageInputTokens": None,
        "averageOutputTokens": None,
        "totalCost": 0.0,
        "averageLatencyMs": None,
        "p95LatencyMs": None,
        "lastUsedAt": None,
    }


# -- routing, tenancy and documentation ---------------------------------------------------------

ENDPOINTS = [
    ("GET", ""),
    ("GET", "/1"),
    ("GET", "/compare?v1=1&v2=1"),
    ("GET", "/statistics"),
    ("POST", "/1/rollback"),
]


async def test_compare_and_statistics_are_never_taken_for_a_version(client, tenant):
    assistant = await create_assistant(client, tenant)
    stats = await client.get(history(assistant["id"], "/statistics"), headers=tenant.headers)
    assert stats.status_code == 200 and stats.json()["totalVersions"] == 1
    compare = await client.get(history(assistant["id"], "/compare"), headers=tenant.headers)
    assert_error(compare, 400, "VALIDATION_ERROR", field="query.v1")
    for word in ("compare", "statistics"):
        response = await client.post(
            history(assistant["id"], f"/{word}/rollback"), headers=tenant.headers
        )
        assert_error(response, 400, "VALIDATION_ERROR", field="path.version")


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_another_companys_assistant_is_not_found(client, tenant, method, suffix):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    other = await new_tenant("Other Co")
    response = await client.request(method, history(assistant["id"], suffix), headers=other.headers)
    assert_error(response, 404, "ASSISTANT_NOT_FOUND")
    # ...and nothing changed for the owner.
    assert len(await versions(client, tenant, assistant["id"])) == 2


async def test_compare_on_another_companys_assistant_is_404_even_without_versions(client, tenant):
    assistant = await create_assistant(client, tenant)
    other = await new_tenant("Other Co")
    response = await client.get(history(assistant["id"], "/compare"), headers=other.headers)
    assert_error(response, 404, "ASSISTANT_NOT_FOUND")


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_a_deleted_or_unknown_assistant_is_not_found(client, tenant, method, suffix):
    assistant = await assistant_with_prompts(client, tenant, "one", "two")
    deleted = await client.delete(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    assert deleted.status_code == 200
    for assistant_id in (assistant["id"], MISSING_ASSISTANT, "not-an-id"):
        response = await client.request(
            method, history(assistant_id, suffix), headers=tenant.headers
        )
        assert_error(response, 404, "ASSISTANT_NOT_FOUND")


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_every_endpoint_needs_an_api_key(client, tenant, method, suffix):
    assistant = await create_assistant(client, tenant)
    response = await client.request(method, history(assistant["id"], suffix))
    assert_error(response, 401, "UNAUTHORIZED")


async def test_openapi_documents_the_prompt_history_errors(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    prefix = "/api/assistants/{assistant_id}/prompt-history"
    rollback_doc = paths[f"{prefix}/{{version}}/rollback"]["post"]["responses"]
    assert "PROMPT_VERSION_NOT_FOUND" in rollback_doc["404"]["description"]
    assert "ASSISTANT_NOT_FOUND" in rollback_doc["404"]["description"]
    assert rollback_doc["409"]["description"] == "PROMPT_ALREADY_CURRENT"
    compare_doc = paths[f"{prefix}/compare"]["get"]["responses"]
    assert "PROMPT_VERSION_NOT_FOUND" in compare_doc["404"]["description"]
    assert set(paths[f"{prefix}/statistics"]["get"]["responses"]) == {"200", "400", "401", "404"}
