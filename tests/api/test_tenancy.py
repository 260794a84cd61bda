"""Authentication on every /api route, and isolation between companies on every assistant route.

The routes come from the app's own OpenAPI document, so a route added later (execute, prompt
history, ...) joins both matrices without touching this file.
"""

import re
from typing import Any

import pytest

from api.main import create_app
from shared.ids import new_id
from tests.factories import (
    Tenant,
    add_key,
    assert_error,
    assistant_body,
    create_assistant,
    new_tenant,
    revoke,
)

_PATHS: dict[str, dict[str, Any]] = create_app().openapi()["paths"]
_METHODS = {"get", "put", "post", "delete", "patch"}
API_ROUTES = sorted(
    (method.upper(), path)
    for path, operations in _PATHS.items()
    if path.startswith("/api/")
    for method in operations
    if method in _METHODS
)
ASSISTANT_ROUTES = [
    (method, path)
    for method, path in API_ROUTES
    if path.startswith("/api/assistants/{assistant_id}")
]
# A body each route accepts, so that the request reaches the ownership check.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/assistants"): assistant_body(),
    ("PUT", "/api/assistants/{assistant_id}"): {"name": "Hijacked", "llmPrompt": "Leak it"},
    ("POST", "/api/assistants/{assistant_id}/execute"): {"userInput": "Hello"},
    ("POST", "/api/assistants/{assistant_id}/batches"): {
        "items": [{"customId": "1", "userInput": "Hello"}]
    },
}


def url(path: str, assistant_id: str) -> str:
    """Fill the path: the assistant under test, and a plausible value for any other parameter."""
    path = path.replace("{assistant_id}", assistant_id)
    return re.sub(r"\{[^}]+\}", lambda m: "1" if "version" in m.group(0) else new_id(), path)


def test_the_matrices_cover_the_crud_routes():
    assert {
        ("GET", "/api/assistants"),
        ("POST", "/api/assistants"),
        ("GET", "/api/models"),
    } <= set(API_ROUTES)
    assert {
        ("GET", "/api/assistants/{assistant_id}"),
        ("PUT", "/api/assistants/{assistant_id}"),
        ("DELETE", "/api/assistants/{assistant_id}"),
    } <= set(ASSISTANT_ROUTES)


# --- authentication -----------------------------------------------------------------------------


def _bad_headers(tenant: Tenant) -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "basic scheme": {"Authorization": f"Basic {tenant.api_key}"},
        "token scheme": {"Authorization": f"Token {tenant.api_key}"},
        "no scheme": {"Authorization": tenant.api_key},
        "scheme only": {"Authorization": "Bearer"},
        "malformed key": {"Authorization": "Bearer not-a-key"},
        "too long": {"Authorization": f"Bearer {tenant.api_key}{'x' * 200}"},
        "unknown key": {"Authorization": f"Bearer ak_{'A' * 43}"},
        "other key's prefix": {"Authorization": f"Bearer {tenant.api_key[:-1]}"},
    }


BAD_HEADER_KINDS = list(_bad_headers(Tenant("", "ak_placeholder")))


@pytest.fixture(scope="module")
async def victim(client) -> tuple[Tenant, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A company with one assistant that nobody else may see or change."""
    tenant = await new_tenant("Victim Co")
    return tenant, await create_assistant(client, tenant, name="Victim's assistant")


@pytest.mark.parametrize("kind", BAD_HEADER_KINDS)
@pytest.mark.parametrize(("method", "path"), API_ROUTES)
async def test_every_api_route_rejects_a_bad_authorization_with_401(
    client, victim, method, path, kind
):
    owner, assistant = victim
    headers = _bad_headers(owner)[kind]

    response = await client.request(
        method, url(path, assistant["id"]), json=BODIES.get((method, path)), headers=headers
    )

    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
async def test_a_revoked_key_is_401_on_every_api_route(client, victim, method, path):
    owner, assistant = victim
    key_id, second = await add_key(owner)
    await revoke(key_id)

    response = await client.request(
        method, url(path, assistant["id"]), json=BODIES.get((method, path)), headers=second.headers
    )

    assert_error(response, 401, "UNAUTHORIZED")


async def test_the_scheme_name_is_case_insensitive(client, tenant):
    response = await client.get(
        "/api/assistants", headers={"Authorization": f"bearer {tenant.api_key}"}
    )
    assert response.status_code == 200, response.text


async def test_health_and_docs_need_no_key(client):
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert (await client.get(path)).status_code == 200, path


# --- several keys per company -------------------------------------------------------------------


async def test_every_key_of_a_company_sees_the_same_assistants(client, tenant):
    _, second = await add_key(tenant)
    _, third = await add_key(tenant)
    created = await create_assistant(client, second)

    for key in (tenant, second, third):
        response = await client.get(f"/api/assistants/{created['id']}", headers=key.headers)
        assert response.status_code == 200, response.text
        assert response.json()["companyId"] == tenant.company_id
        listed = (await client.get("/api/assistants", headers=key.headers)).json()
        assert [item["id"] for item in listed["data"]] == [created["id"]]


async def test_revoking_one_key_leaves_the_others_working(client, tenant):
    key_id, second = await add_key(tenant)
    await revoke(key_id)

    assert_error(await client.get("/api/assistants", headers=second.headers), 401, "UNAUTHORIZED")
    assert (await client.get("/api/assistants", headers=tenant.headers)).status_code == 200


async def test_a_key_revoked_after_use_is_refused_on_the_next_request(client, tenant):
    """Authentication is cached per process; the revocation's epoch bump must empty that cache."""
    key_id, second = await add_key(tenant)
    for _ in range(2):  # the second request is served from the cache
        assert (await client.get("/api/assistants", headers=second.headers)).status_code == 200

    await revoke(key_id)

    assert_error(await client.get("/api/assistants", headers=second.headers), 401, "UNAUTHORIZED")
    assert (await client.get("/api/assistants", headers=tenant.headers)).status_code == 200


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ASSISTANT_ROUTES)
async def test_another_companys_assistant_is_not_found_on_every_route(client, victim, method, path):
    owner, assistant = victim
    intruder = await new_tenant("Intruder Co")

    response = await client.request(
        method,
        url(path, assistant["id"]),
        json=BODIES.get((method, path)),
        headers=intruder.headers,
    )

    assert_error(response, 404, "ASSISTANT_NOT_FOUND")
    # Indistinguishable from an assistant that does not exist.
    missing = await client.request(
        method, url(path, new_id()), json=BODIES.get((method, path)), headers=intruder.headers
    )
    assert missing.status_code == 404 and missing.json() == response.json()
    # And nothing happened to it.
    still = await client.get(f"/api/assistants/{assistant['id']}", headers=owner.headers)
    assert still.status_code == 200 and still.json() == assistant


async def test_the_list_never_shows_another_companys_assistants(client):
    first, second = await new_tenant("First Co"), await new_tenant("Second Co")
    mine = {(await create_assistant(client, first, name=f"f{i}"))["id"] for i in range(3)}
    theirs = {(await create_assistant(client, second, name=f"s{i}"))["id"] for i in range(2)}

    async def listed(tenant: Tenant, **params: Any) -> tuple[set[str], int]:
        response = await client.get("/api/assistants", params=params, headers=tenant.headers)
        body = response.json()
        return {item["id"] for item in body["data"]}, body["meta"]["total"]

    assert await listed(first) == (mine, 3)
    assert await listed(second) == (theirs, 2)
    assert await listed(first, teamId="team-123", sortBy="name") == (mine, 3)
    assert await listed(second, sortBy="lastUsed", order="asc") == (theirs, 2)


async def test_assistants_are_created_in_the_callers_company_only(client):
    first, second = await new_tenant("First Co"), await new_tenant("Second Co")

    created = await create_assistant(client, first)

    assert created["companyId"] == first.company_id
    response = await client.get(f"/api/assistants/{created['id']}", headers=second.headers)
    assert_error(response, 404, "ASSISTANT_NOT_FOUND")
