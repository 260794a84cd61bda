"""The read endpoints' JSON bodies, built by PostgreSQL in one statement each.

Why: profiled at 16 connections, a list or get request spent most of the API process's time in
the ORM, pydantic and JSON encoding, not waiting on PostgreSQL. These queries return the finished
JSON text of the spec's shapes (`AssistantListItem`, `Assistant`; the tests pin them field by
field) and the API passes it through, so a request costs the process one driver round trip.
They run on asyncpg's own pool in autocommit: one statement is one snapshot.
"""

from functools import cache

import asyncpg
from asyncpg import Record

from shared.assistants import page_index
from shared.assistants.schemas import SortBy, SortOrder

# The spec's timestamp format (`shared.schemas.iso_utc`): UTC, milliseconds (truncated), `Z`.
_ISO_UTC = """'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""


def _ts(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', {_ISO_UTC})"


# (JSON key, expression on `a`) in the order of the pydantic models.
_LIST_ITEM = (
    ("id", "a.id"),
    ("name", "a.name"),
    ("description", "a.description"),
    ("llmProvider", "a.llm_provider"),
    ("llmModel", "a.llm_model"),
    ("maxTokens", "a.max_tokens"),
    ("language", "a.language"),
    ("teamIds", "a.team_ids"),
    ("lastAccessedAt", _ts("a.last_accessed_at")),
    ("createdAt", _ts("a.created_at")),
)
_DETAIL = (
    ("id", "a.id"),
    ("name", "a.name"),
    ("description", "a.description"),
    ("llmProvider", "a.llm_provider"),
    ("llmModel", "a.llm_model"),
    ("llmPrompt", "a.llm_prompt"),
    ("maxTokens", "a.max_tokens"),
    ("language", "a.language"),
    ("voice", "a.voice"),
    ("teamIds", "a.team_ids"),
    ("tools", "a.tools"),
    ("companyId", "a.company_id"),
    ("lastAccessedAt", _ts("a.last_accessed_at")),
    ("createdAt", _ts("a.created_at")),
    ("updatedAt", _ts("a.updated_at")),
)


def _object(fields: tuple[tuple[str, str], ...]) -> str:
    """A compact JSON object of `a`'s row (row_to_json keeps the column order)."""
    columns = ", ".join(f'{expression} AS "{key}"' for key, expression in fields)
    return f"(SELECT row_to_json(r) FROM (SELECT {columns}) AS r)"


GET_SQL = f"""SELECT {_object(_DETAIL)}::text FROM assistants AS a
WHERE a.id = $1 AND a.company_id = $2 AND a.deleted_at IS NULL"""

_SORT_COLUMNS = {
    SortBy.created_at: "created_at",
    SortBy.name: "name",
    SortBy.last_used: "last_accessed_at",
}


def order_by(sort_by: SortBy, order: SortOrder, *, reverse: bool = False, alias: str = "") -> str:
    """The listing's order (id breaks ties); `reverse` is its exact mirror image.

    lastUsed puts never-used assistants last in both orders, so its mirror puts them first.
    """
    ascending = (order is SortOrder.asc) != reverse
    direction = "ASC" if ascending else "DESC"
    nulls = ""
    if sort_by is SortBy.last_used:
        nulls = " NULLS FIRST" if reverse else " NULLS LAST"
    return f"{alias}{_SORT_COLUMNS[sort_by]} {direction}{nulls}, {alias}id {direction}"


_LIVE = "company_id = $1 AND deleted_at IS NULL"
_IN_TEAM = " AND team_ids @> ARRAY[$4::varchar]"


@cache
def list_sql(sort_by: SortBy, order: SortOrder, *, by_team: bool) -> str:
    """Total and page in one statement (one snapshot), as `(total, JSON array text)`.

    The page's ids come from an index-only scan of the sort's index, started from whichever end
    is nearer: a page past the middle is read in the mirrored order with the mirrored offset
    (only the branch whose condition holds runs). Whole rows are fetched for those ids only.
    """
    where = _LIVE + (_IN_TEAM if by_team else "")
    total = (
        f"(SELECT count(*) FROM assistants WHERE {where})"
        if by_team
        else "coalesce((SELECT live FROM assistant_counts WHERE company_id = $1), 0)"
    )
    n = "(SELECT n FROM total)"
    return f"""WITH total AS MATERIALIZED (SELECT {total} AS n),
page AS (
    (SELECT id FROM assistants
     WHERE {where} AND $2::bigint * 2 + $3::bigint <= {n}
     ORDER BY {order_by(sort_by, order)}
     OFFSET $2::bigint LIMIT $3::bigint)
    UNION ALL
    (SELECT id FROM assistants
     WHERE {where} AND $2::bigint * 2 + $3::bigint > {n}
     ORDER BY {order_by(sort_by, order, reverse=True)}
     OFFSET greatest({n} - $2::bigint - $3::bigint, 0)
     LIMIT greatest(least($3::bigint, {n} - $2::bigint), 0))
)
SELECT {n} AS total,
       coalesce(json_agg({_object(_LIST_ITEM)} ORDER BY {order_by(sort_by, order, alias="a.")}),
                '[]')::text AS data
FROM assistants AS a
WHERE a.id IN (SELECT id FROM page) AND a.company_id = $1"""


async def fetchrow(pool: asyncpg.Pool, sql: str, *args: object) -> Record | None:
    """One statement on a connection of asyncpg's own pool (`shared.db.create_driver_pool`).

    Why that pool and not the engine's: SQLAlchemy's checkout and return around a one-statement
    read (a greenlet each way, its events, the connection's reset) cost about as much CPU as the
    statement itself. The pool never opens more than its size; past it, a read waits for a
    connection, which is cheaper than opening one (measured with the engine: ~90 new connections
    in 5 s at 16 concurrent requests when overflow was allowed).
    """
    async with pool.acquire() as connection:
        return await connection.fetchrow(sql, *args)


async def get(pool: asyncpg.Pool, company_id: str, assistant_id: str) -> str | None:
    """The assistant's JSON, or None when the company has no such live assistant."""
    async with pool.acquire() as connection:
        return await connection.fetchval(GET_SQL, assistant_id, company_id)


@cache
def by_ids_sql(sort_by: SortBy, order: SortOrder) -> str:
    """A page whose ids are known, with the total and the order's fingerprint (one snapshot)."""
    return f"""SELECT {page_index.fingerprint_sql(sort_by)} AS fingerprint,
       coalesce((SELECT live FROM assistant_counts WHERE company_id = $1), 0) AS total,
       coalesce(json_agg({_object(_LIST_ITEM)} ORDER BY {order_by(sort_by, order, alias="a.")}),
                '[]')::text AS data
FROM assistants AS a
WHERE a.id = ANY($2::varchar[]) AND a.company_id = $1 AND a.deleted_at IS NULL"""


async def list_page(
    pool: asyncpg.Pool,
    company_id: str,
    *,
    team_id: str | None,
    sort_by: SortBy,
    order: SortOrder,
    offset: int,
    limit: int,
) -> tuple[int, str]:
    """(exact total, JSON array of the page's list items).

    A deep page of the whole company comes from the process's copy of the order when that copy
    is current (`page_index`); otherwise from the index, and a deep one asks for the copy.
    """
    orders = page_index.orders
    if team_id is None:
        cached = orders.get(company_id, sort_by)
        if cached is not None and page_index.is_deep(offset, limit, len(cached)):
            ids = cached.ids(order, offset, limit)
            row = await fetchrow(pool, by_ids_sql(sort_by, order), company_id, ids)
            assert row is not None  # an aggregate always answers one row
            if row["fingerprint"] == cached.fingerprint and row["total"] == len(cached):
                return row["total"], row["data"]
            orders.forget(company_id, sort_by)  # something changed since it was loaded
    args: list[object] = [company_id, offset, limit]
    if team_id is not None:
        args.append(team_id)
    row = await fetchrow(pool, list_sql(sort_by, order, by_team=team_id is not None), *args)
    assert row is not None
    if team_id is None and page_index.is_deep(offset, limit, row["total"]):
        orders.load_soon(pool, company_id, sort_by, fetchrow)
    return row["total"], row["data"]
