"""`GET /api/assistants`: pagination, the team filter and every sort order.

Each test gets a fresh company (the `tenant` fixture), so counts are exact.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.test_assistants_crud import LIST_ITEM_KEYS
from tests.factories import Tenant, assert_error, create_assistant, set_last_accessed


async def listing(
    client: httpx.AsyncClient, tenant: Tenant, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get("/api/assistants", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def ids(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    return [item["id"] for item in (await listing(client, tenant, **params))[0]]


async def create_many(client: httpx.AsyncClient, tenant: Tenant, count: int) -> list[str]:
    """Ids in creation order."""
    return [(await create_assistant(client, tenant, name=f"a{i:03}"))["id"] for i in range(count)]


# --- pagination ---------------------------------------------------------------------------------


async def test_defaults_are_page_1_limit_20_newest_first(client, tenant):
    created = await create_many(client, tenant, 23)

    data, meta = await listing(client, tenant)

    assert meta == {"page": 1, "limit": 20, "total": 23}
    assert [item["id"] for item in data] == created[::-1][:20]


async def test_pages_split_the_list_without_gaps_or_repeats(client, tenant):
    created = await create_many(client, tenant, 7)

    pages = [await listing(client, tenant, page=page, limit=3) for page in (1, 2, 3)]

    assert [meta for _, meta in pages] == [{"page": p, "limit": 3, "total": 7} for p in (1, 2, 3)]
    assert [len(data) for data, _ in pages] == [3, 3, 1]
    assert [item["id"] for data, _ in pages for item in data] == created[::-1]


async def test_page_beyond_the_end_is_empty_with_the_true_total(client, tenant):
    await create_many(client, tenant, 3)

    data, meta = await listing(client, tenant, page=5, limit=2)

    assert data == []
    assert meta == {"page": 5, "limit": 2, "total": 3}


async def test_company_without_assistants_gets_an_empty_page(client, tenant):
    assert await listing(client, tenant) == ([], {"page": 1, "limit": 20, "total": 0})


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_accepts_1_to_100(client, tenant, limit):
    await create_many(client, tenant, 2)

    data, meta = await listing(client, tenant, limit=limit)

    assert meta == {"page": 1, "limit": limit, "total": 2}
    assert len(data) == min(limit, 2)


async def test_list_items_have_exactly_the_spec_keys(client, tenant):
    await create_assistant(client, tenant, voice="alloy")

    data, _ = await listing(client, tenant)

    assert set(data[0]) == LIST_ITEM_KEYS


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page": 1.5}, "page"),
        ({"page": 10**7}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "all"}, "limit"),
        ({"sortBy": "createdat"}, "sortBy"),
        ({"sortBy": "created_at"}, "sortBy"),
        ({"sortBy": "llmModel"}, "sortBy"),
        ({"order": "up"}, "order"),
        ({"order": "ASC"}, "order"),
        ({"teamId": ""}, "teamId"),
        ({"teamId": "t" * 101}, "teamId"),
        ({"teamId": "team\x00"}, "teamId"),
    ],
)
async def test_invalid_query_values_are_a_400_naming_the_parameter(client, tenant, params, field):
    response = await client.get("/api/assistants", params=params, headers=tenant.headers)

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert any(d["field"].endswith(field) for d in error["details"]), error
    assert field in error["message"]


async def test_an_unauthenticated_request_is_a_401_whatever_its_query(client):
    response = await client.get("/api/assistants", params={"page": 0, "sortBy": "nope"})

    assert_error(response, 401, "UNAUTHORIZED")


async def test_a_repeated_parameter_counts_with_its_last_value_and_unknown_ones_are_ignored(
    client, tenant
):
    created = await create_many(client, tenant, 3)
    query = "page=1&page=2&limit=9&limit=1&sortBy=name&sortBy=createdAt&order=asc&colour=red"

    response = await client.get(f"/api/assistants?{query}", headers=tenant.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["data"]] == [created[1]]
    assert body["meta"] == {"page": 2, "limit": 1, "total": 3}


# --- team filter --------------------------------------------------------------------------------


async def test_team_filter_returns_assistants_whose_team_ids_contain_it(client, tenant):
    sales = await create_assistant(client, tenant, name="Sales", teamIds=["sales"])
    both = await create_assistant(client, tenant, name="Both", teamIds=["support", "sales"])
    support = await create_assistant(client, tenant, name="Support", teamIds=["support"])
    await create_assistant(client, tenant, name="Nobody", teamIds=[])

    sales_data, sales_meta = await listing(client, tenant, teamId="sales")
    support_ids = await ids(client, tenant, teamId="support")

    assert [item["id"] for item in sales_data] == [both["id"], sales["id"]]
    assert sales_meta["total"] == 2
    assert support_ids == [support["id"], both["id"]]
    assert await listing(client, tenant, teamId="sale") == (
        [],
        {"page": 1, "limit": 20, "total": 0},
    )


async def test_team_filter_combines_with_pagination_and_sorting(client, tenant):
    for name in ("Charlie", "Alpha", "Bravo"):
        await create_assistant(client, tenant, name=name, teamIds=["ops"])
    await create_assistant(client, tenant, name="Aardvark", teamIds=["other"])

    data, meta = await listing(client, tenant, teamId="ops", sortBy="name", limit=2, page=2)

    assert [item["name"] for item in data] == ["Charlie"]
    assert meta == {"page": 2, "limit": 2, "total": 3}


# --- sorting ------------------------------------------------------------------------------------


async def test_sort_by_created_at_in_both_orders(client, tenant):
    created = await create_many(client, tenant, 4)

    assert await ids(client, tenant, sortBy="createdAt", order="asc") == created
    assert await ids(client, tenant, sortBy="createdAt", order="desc") == created[::-1]
    assert await ids(client, tenant, sortBy="createdAt") == created[::-1]
    assert await ids(client, tenant, order="asc") == created


async def test_sort_by_name_in_both_orders_and_a_to_z_by_default(client, tenant):
    for name in ("Bravo", "Delta", "Alpha", "Charlie"):
        await create_assistant(client, tenant, name=name)

    async def names(**params: Any) -> list[str]:
        return [item["name"] for item in (await listing(client, tenant, **params))[0]]

    assert await names(sortBy="name", order="asc") == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert await names(sortBy="name", order="desc") == ["Delta", "Charlie", "Bravo", "Alpha"]
    assert await names(sortBy="name") == ["Alpha", "Bravo", "Charlie", "Delta"]


async def test_equal_names_page_stably_without_repeats(client, tenant):
    created = {(await create_assistant(client, tenant, name="Same"))["id"] for _ in range(5)}

    for order in ("asc", "desc"):
        seen = [
            assistant_id
            for page in (1, 2, 3)
            for assistant_id in await ids(
                client, tenant, sortBy="name", order=order, limit=2, page=page
            )
        ]
        assert sorted(seen) == sorted(created), order


async def test_sort_by_last_used_puts_never_used_last_in_both_orders(client, tenant):
    now = datetime.now(UTC)
    never_1, old, never_2, recent, middle = await create_many(client, tenant, 5)
    await set_last_accessed(old, now - timedelta(days=30))
    await set_last_accessed(middle, now - timedelta(days=1))
    await set_last_accessed(recent, now - timedelta(minutes=5))

    ascending = await ids(client, tenant, sortBy="lastUsed", order="asc")
    descending = await ids(client, tenant, sortBy="lastUsed", order="desc")

    assert ascending[:3] == [old, middle, recent]
    assert descending[:3] == [recent, middle, old]
    assert set(ascending[3:]) == set(descending[3:]) == {never_1, never_2}
    # Most recently used first when no order is given.
    assert await ids(client, tenant, sortBy="lastUsed") == descending


async def test_last_accessed_at_is_listed_in_utc_with_z(client, tenant):
    created = await create_assistant(client, tenant)
    when = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
    await set_last_accessed(created["id"], when)

    data, _ = await listing(client, tenant)

    assert data[0]["lastAccessedAt"] in ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00.000Z")


async def test_deleted_assistants_are_neither_listed_nor_counted(client, tenant):
    kept, gone = await create_many(client, tenant, 2)
    await client.delete(f"/api/assistants/{gone}", headers=tenant.headers)

    for sort_by in ("createdAt", "name", "lastUsed"):
        data, meta = await listing(client, tenant, sortBy=sort_by)
        assert ([item["id"] for item in data], meta["total"]) == ([kept], 1), sort_by
    assert (await listing(client, tenant, teamId="team-123"))[1]["total"] == 1
