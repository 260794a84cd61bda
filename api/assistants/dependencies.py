"""The read endpoints' database access: asyncpg's own pool, for one bare statement in autocommit.

The list and get endpoints answer with one statement each (`shared.assistants.bodies`), so they
need no transaction (a statement is its own snapshot) and skip the ORM session, BEGIN and
COMMIT. The statement borrows a pooled connection for its own round trip only, so 16 concurrent
requests fit the pool without opening connections. Writes keep the unit of work.
"""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request


async def get_read_pool(request: Request) -> asyncpg.Pool:
    # Not on `StateDep`: a sub-dependency costs a round of dependency solving per request.
    return request.app.state.resources.statements


ReadPool = Annotated[asyncpg.Pool, Depends(get_read_pool)]
