"""Deep pages of large companies in O(page): each API process keeps the whole listing order.

`OFFSET n` costs PostgreSQL a walk over n index entries (~10 ms at 50,000, twice that when the
visibility map is behind), and no index can jump to the nth row. So once a company's deep pages
are asked for, the process loads that sort's complete order (ids only: 2.4 MB per 100,000) with
the company's change fingerprint, read in the same snapshot. A deep page then takes its ids from
memory and fetches those rows in one statement that reads the fingerprint again: if it moved (an
assistant created, deleted or renamed, or for lastUsed one used), the order is dropped, the page
is answered by the index walk, and the order is reloaded in the background. Exact either way.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from shared.assistants.schemas import SortBy, SortOrder

logger = structlog.get_logger(__name__)

DEEP = 1_000  # rows skipped (from the nearer end) from which a page is served from memory
MAX_ORDERS = 16  # orders kept per process, least recently used dropped first
RELOAD_SECONDS = 5.0  # an order that keeps changing is reloaded at most this often
_WIDTH = 24  # ids are padded to this width and concatenated

# Runs one statement on a pooled connection and returns its row (`bodies.fetchrow`).
FetchRow = Callable[..., Awaitable[Any]]


def is_deep(offset: int, limit: int, total: int) -> bool:
    return min(offset, max(total - offset - limit, 0)) >= DEEP


def fingerprint_sql(sort_by: SortBy) -> str:
    """A number that grows whenever the company's order for this sort changes."""
    changes = "coalesce((SELECT changes FROM assistant_counts WHERE company_id = $1), 0)"
    if sort_by is not SortBy.last_used:
        return changes
    touches = "(SELECT coalesce(sum(touches), 0) FROM assistant_touches WHERE company_id = $1)"
    return f"({changes} + {touches})::bigint"


def _ids(where: str, order: str) -> str:
    return (
        f"coalesce((SELECT string_agg(rpad(id, {_WIDTH}), '' ORDER BY {order}) FROM assistants"
        f" WHERE company_id = $1 AND deleted_at IS NULL{where}), '')"
    )


def load_sql(sort_by: SortBy) -> str:
    """(fingerprint, head, tail): the ascending order; lastUsed keeps never-used ids apart."""
    if sort_by is SortBy.last_used:
        head = _ids(" AND last_accessed_at IS NOT NULL", "last_accessed_at, id")
        tail = _ids(" AND last_accessed_at IS NULL", "id")
    else:
        column = "created_at" if sort_by is SortBy.created_at else "name"
        head, tail = _ids("", f"{column}, id"), "''"
    return f"SELECT {fingerprint_sql(sort_by)}, {head}, {tail}"


@dataclass(frozen=True)
class Order:
    """A company's complete order for one sort: `head` then `tail`, each ascending.

    Descending is each part reversed, still head first: for lastUsed the never-used assistants
    (the tail) come last both ways, as the listing wants.
    """

    fingerprint: int
    head: str
    tail: str

    def __len__(self) -> int:
        return (len(self.head) + len(self.tail)) // _WIDTH

    def ids(self, order: SortOrder, offset: int, limit: int) -> list[str]:
        head_count = len(self.head) // _WIDTH
        out = []
        for position in range(offset, min(offset + limit, len(self))):
            part, index, count = (
                (self.head, position, head_count)
                if position < head_count
                else (self.tail, position - head_count, len(self) - head_count)
            )
            if order is SortOrder.desc:
                index = count - 1 - index
            out.append(part[index * _WIDTH : (index + 1) * _WIDTH].rstrip())
        return out


class OrderCache:
    """The orders of one process, by (company, sort)."""

    def __init__(self) -> None:
        self._orders: OrderedDict[tuple[str, SortBy], Order] = OrderedDict()
        self._loading: dict[tuple[str, SortBy], asyncio.Task[None]] = {}
        self._loaded_at: dict[tuple[str, SortBy], float] = {}

    def get(self, company_id: str, sort_by: SortBy) -> Order | None:
        order = self._orders.get((company_id, sort_by))
        if order is not None:
            self._orders.move_to_end((company_id, sort_by))
        return order

    def forget(self, company_id: str, sort_by: SortBy) -> None:
        self._orders.pop((company_id, sort_by), None)

    def load_soon(
        self,
        pool: asyncpg.Pool,
        company_id: str,
        sort_by: SortBy,
        fetchrow: FetchRow,
    ) -> None:
        """Load the order in the background, unless it is loading or was loaded just now."""
        key = (company_id, sort_by)
        if key in self._loading or time.monotonic() - self._loaded_at.get(key, -1e9) < (
            RELOAD_SECONDS
        ):
            return
        if len(self._loaded_at) > 10_000:  # only rate limits; forgetting them is harmless
            self._loaded_at.clear()
        self._loaded_at[key] = time.monotonic()
        task = asyncio.create_task(self._load(pool, key, fetchrow), name="assistants-order-load")
        self._loading[key] = task
        task.add_done_callback(lambda _: self._loading.pop(key, None))

    async def _load(
        self,
        pool: asyncpg.Pool,
        key: tuple[str, SortBy],
        fetchrow: FetchRow,
    ) -> None:
        try:
            row = await fetchrow(pool, load_sql(key[1]), key[0])
        except Exception as exc:  # the pages stay exact without it
            logger.warning("assistants order not loaded", sort=key[1], error=type(exc).__name__)
            return
        fingerprint, head, tail = row
        self._orders[key] = Order(fingerprint, head, tail)
        self._orders.move_to_end(key)
        while len(self._orders) > MAX_ORDERS:
            self._orders.popitem(last=False)

    async def settle(self) -> None:
        """Wait for the loads in progress (for tests)."""
        while self._loading:
            await asyncio.gather(*self._loading.values(), return_exceptions=True)


orders = OrderCache()
