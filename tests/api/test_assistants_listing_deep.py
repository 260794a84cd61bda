"""`GET /api/assistants` beyond the first page, and the bodies PostgreSQL builds.

Pages past the middle are read from the far end of the sort index in the mirrored order; the
exact total comes from a per-company counter kept by triggers. These tests pin both against an
independent oracle (a plain `ORDER BY` over the table) and the response bodies against the
pydantic schemas that document them.
"""

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from shared.assistants import bodies, page_index
from shared.assistants.schemas import Assistant as AssistantOut
from shared.assistants.schemas import AssistantListItem
from tests.api.test_assistants_listing import listing
from tests.factories import (
    Tenant,
    assistant_row,
    create_assistant,
    in_transaction,
    set_last_accessed,
)

ORACLE_ORDER = {
    ("createdAt", "asc"): "created_at ASC, id ASC",
    ("createdAt", "desc"): "created_at DESC, id DESC",
    ("name", "asc"): "name ASC, id ASC",
    ("name", "desc"): "name DESC, id DESC",
    ("lastUsed", "asc"): "last_accessed_at ASC NULLS LAST, id ASC",
    ("lastUsed", "desc"): "last_accessed_at DESC NULLS LAST, id DESC",
}
SORTS = sorted(ORACLE_ORDER)


async def oracle(tenant: Tenant, sort_by: str, order: str, team: str | None = None) -> list[str]:
    """Every live id of the company in the listing's order, by a query that does not page."""
    where = "company_id = :company AND deleted_at IS NULL"
    if team is not None:
        where += " AND :team = ANY(team_ids)"
    query = text(f"SELECT id FROM assistants WHERE {where} ORDER BY {ORACLE_ORDER[sort_by, order]}")

    async def work(session: Any) -> list[str]:
        result = await session.execute(query, {"company": tenant.company_id, "team": team})
        return list(result.scalars())

    return await in_transaction(work)


async def counted(tenant: Tenant) -> tuple[int, int]:
    """(the counter's value, COUNT(*) of live rows) for the company."""

    async def work(session: Any) -> tuple[int, int]:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT live FROM assistant_counts WHERE company_id = :c),"
                    " (SELECT count(*) FROM assistants WHERE company_id = :c"
                    "  AND deleted_at IS NULL)"
                ),
                {"c": tenant.company_id},
            )
        ).one()
        return row[0] or 0, row[1]

    return await in_transaction(work)


async def all_pages(client, tenant, limit: int, **params: Any) -> tuple[list[str], set[int]]:  # type: ignore[no-untyped-def]
    """Ids of pages 1 .. one past the last, concatenated, and the totals the pages reported."""
    ids: list[str] = []
    totals: set[int] = set()
    page = 1
    while True:
        data, meta = await listing(client, tenant, page=page, limit=limit, **params)
        totals.add(meta["total"])
        if not data:
            assert page > math.ceil(meta["total"] / limit), (page, meta)
            return ids, totals
        assert len(data) == min(limit, meta["total"] - (page - 1) * limit), (page, meta)
        ids += [item["id"] for item in data]
        page += 1


@pytest.fixture
async def mixed(client, tenant) -> Tenant:  # type: ignore[no-untyped-def]
    """11 assistants with repeated names, shared and missing lastAccessedAt, and one deleted."""
    now = datetime.now(UTC).replace(microsecond=0)
    names = ["same", "beta", "same", "alpha", "same", "gamma", "beta", "delta", "same", "x", "y"]
    created = [(await create_assistant(client, tenant, name=name))["id"] for name in names]
    for index, assistant_id in enumerate(created):
        if index % 3 == 0:
            continue  # never used
        # Pairs share a timestamp, so id alone breaks their tie.
        await set_last_accessed(assistant_id, now - timedelta(minutes=index // 3))
    deleted = (await create_assistant(client, tenant, name="same"))["id"]
    await client.delete(f"/api/assistants/{deleted}", headers=tenant.headers)
    return tenant


@pytest.mark.parametrize(("sort_by", "order"), SORTS)
@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 11])
async def test_every_page_equals_the_unpaged_order_from_either_end(
    client, mixed, sort_by, order, limit
):
    expected = await oracle(mixed, sort_by, order)

    ids, totals = await all_pages(client, mixed, limit, sortBy=sort_by, order=order)

    assert ids == expected
    assert totals == {11}


@pytest.mark.parametrize(("sort_by", "order"), SORTS)
async def test_team_pages_from_either_end_equal_the_unpaged_order(client, tenant, sort_by, order):
    for index in range(9):
        team = ["red"] if index % 2 else ["red", "blue"] if index % 3 else ["blue"]
        created = await create_assistant(client, tenant, name=f"n{index % 4}", teamIds=team)
        if index % 4:
            await set_last_accessed(created["id"], datetime(2025, 1, 1 + index % 3, tzinfo=UTC))
    expected = await oracle(tenant, sort_by, order, team="red")

    ids, totals = await all_pages(client, tenant, 2, sortBy=sort_by, order=order, teamId="red")

    assert ids == expected
    assert totals == {len(expected)}


async def test_last_page_of_a_larger_company_is_read_from_the_far_end(client, tenant):
    created = [(await create_assistant(client, tenant, name=f"a{i:02}"))["id"] for i in range(30)]

    last, meta = await listing(client, tenant, page=4, limit=8, sortBy="createdAt", order="asc")
    beyond, beyond_meta = await listing(client, tenant, page=5, limit=8)

    assert [item["id"] for item in last] == created[24:]
    assert meta == {"page": 4, "limit": 8, "total": 30}
    assert (beyond, beyond_meta["total"]) == ([], 30)


# --- the exact total ----------------------------------------------------------------------------


async def test_total_stays_exact_through_creates_and_deletes(client, tenant):
    ids = [(await create_assistant(client, tenant))["id"] for _ in range(5)]
    assert (await listing(client, tenant))[1]["total"] == 5

    await client.delete(f"/api/assistants/{ids[0]}", headers=tenant.headers)
    again = await client.delete(f"/api/assistants/{ids[0]}", headers=tenant.headers)
    await client.put(f"/api/assistants/{ids[1]}", json={"name": "renamed"}, headers=tenant.headers)
    await set_last_accessed(ids[2], datetime.now(UTC))

    assert again.status_code == 404
    assert (await listing(client, tenant))[1]["total"] == 4
    assert await counted(tenant) == (4, 4)


async def test_total_stays_exact_under_concurrent_creates_and_deletes(client, tenant):
    kept = [(await create_assistant(client, tenant))["id"] for _ in range(10)]

    async def create() -> None:
        await create_assistant(client, tenant)

    async def delete(assistant_id: str) -> None:
        response = await client.delete(f"/api/assistants/{assistant_id}", headers=tenant.headers)
        assert response.status_code == 200

    await asyncio.gather(*(create() for _ in range(20)), *(delete(i) for i in kept[:6]))

    assert (await listing(client, tenant))[1]["total"] == 24
    assert await counted(tenant) == (24, 24)


async def test_total_follows_bulk_sql_writes_too(client, tenant):
    """The counter is kept by triggers, so rows written outside the API count as well."""
    other = await create_assistant(client, tenant)

    async def bulk(session: Any) -> None:
        await session.execute(
            text(
                "INSERT INTO assistants (id, company_id, name, llm_provider, llm_model)"
                " SELECT substr(md5(:c || i), 1, 24), :c, 'bulk', 'openai', 'gpt-4o'"
                " FROM generate_series(1, 50) AS i"
            ),
            {"c": tenant.company_id},
        )
        await session.execute(
            text(
                "DELETE FROM assistants WHERE id IN"
                " (SELECT substr(md5(:c || i), 1, 24) FROM generate_series(1, 10) AS i)"
            ),
            {"c": tenant.company_id},
        )
        await session.execute(
            text("UPDATE assistants SET deleted_at = now() WHERE id = :id"), {"id": other["id"]}
        )
        await session.execute(
            text("UPDATE assistants SET deleted_at = NULL WHERE id = :id"), {"id": other["id"]}
        )

    await in_transaction(bulk)

    assert (await listing(client, tenant))[1]["total"] == 41
    assert await counted(tenant) == (41, 41)


async def test_a_rolled_back_create_is_not_counted(client, tenant):
    async def create_then_fail(session: Any) -> None:
        await session.execute(
            text(
                "INSERT INTO assistants (id, company_id, name, llm_provider, llm_model)"
                " VALUES ('abcdefabcdefabcdefabcdef', :c, 'gone', 'openai', 'gpt-4o')"
            ),
            {"c": tenant.company_id},
        )
        raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await in_transaction(create_then_fail)

    assert await counted(tenant) == (0, 0)


# --- the bodies PostgreSQL builds ---------------------------------------------------------------


async def test_bodies_equal_the_documented_schemas_field_by_field(client, tenant):
    created = await create_assistant(
        client,
        tenant,
        name='Ünïcode "quoted" \\ back\nslash \u2028 😀',
        description=None,
        voice="alloy",
        teamIds=["t-1", 't"2'],
        tools=[{"name": "lookup", "description": "é", "parameters": {"type": "object"}}],
    )
    await set_last_accessed(created["id"], datetime(2025, 1, 15, 10, 30, 0, 123999, tzinfo=UTC))
    row = await assistant_row(created["id"])
    assert row is not None

    got = await client.get(f"/api/assistants/{created['id']}", headers=tenant.headers)
    data, _ = await listing(client, tenant)

    assert got.headers["content-type"] == "application/json"
    assert got.json() == AssistantOut.model_validate(row).model_dump(mode="json", by_alias=True)
    assert data == [AssistantListItem.model_validate(row).model_dump(mode="json", by_alias=True)]
    assert got.json()["lastAccessedAt"] == "2025-01-15T10:30:00.123Z"


# --- deep pages from the process's copy of the order ---------------------------------------------


@pytest.fixture
def from_memory(monkeypatch):  # type: ignore[no-untyped-def]
    """Every page counts as deep, orders load at once, and pages served from memory are counted."""
    monkeypatch.setattr(page_index, "DEEP", 0)
    monkeypatch.setattr(page_index, "RELOAD_SECONDS", 0.0)
    served: list[str] = []
    by_ids_sql = bodies.by_ids_sql

    def counting(sort_by: Any, order: Any) -> str:
        served.append(f"{sort_by}/{order}")
        return by_ids_sql(sort_by, order)

    monkeypatch.setattr(bodies, "by_ids_sql", counting)
    return served


async def load_orders(client, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    for sort_by in ("createdAt", "name", "lastUsed"):
        await listing(client, tenant, page=2, limit=1, sortBy=sort_by)
    await page_index.orders.settle()


@pytest.mark.parametrize(("sort_by", "order"), SORTS)
async def test_pages_from_memory_equal_the_unpaged_order(
    client, mixed, from_memory, sort_by, order
):
    await load_orders(client, mixed)
    expected = await oracle(mixed, sort_by, order)
    from_memory.clear()

    ids, totals = await all_pages(client, mixed, 3, sortBy=sort_by, order=order)

    assert ids == expected
    assert totals == {11}
    assert len(from_memory) >= 3, "the pages did not come from memory"


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        ("create", {"createdAt", "name", "lastUsed"}),
        ("delete", {"createdAt", "name", "lastUsed"}),
        ("rename", {"name", "createdAt", "lastUsed"}),
        ("use", {"lastUsed"}),
    ],
)
async def test_a_change_makes_memory_give_way_to_the_index_until_reloaded(
    client, mixed, from_memory, change, stale
):
    await load_orders(client, mixed)
    some = (await oracle(mixed, "createdAt", "asc"))[4]
    if change == "create":
        await create_assistant(client, mixed, name="newcomer")
    elif change == "delete":
        await client.delete(f"/api/assistants/{some}", headers=mixed.headers)
    elif change == "rename":
        await client.put(f"/api/assistants/{some}", json={"name": "zz"}, headers=mixed.headers)
    else:
        await set_last_accessed(some, datetime.now(UTC) + timedelta(days=1))

    for sort_by, order in SORTS:
        from_memory.clear()
        ids, _ = await all_pages(client, mixed, 4, sortBy=sort_by, order=order)
        assert ids == await oracle(mixed, sort_by, order), (sort_by, order)
        if sort_by not in stale:
            assert from_memory, f"{sort_by} was dropped although its order did not change"
    await page_index.orders.settle()
    from_memory.clear()

    ids, _ = await all_pages(client, mixed, 4, sortBy="lastUsed", order="desc")

    assert ids == await oracle(mixed, "lastUsed", "desc")
    assert from_memory, "the order was not reloaded"
