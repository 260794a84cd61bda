"""The read endpoints' database access: the engine, for one bare statement in autocommit.

The list and get endpoints answer with one statement each (`shared.assistants.bodies`), so they
need no transaction (a statement is its own snapshot) and skip the ORM session, BEGIN and
COMMIT. The statement borrows a pooled connection for its own round trip only, so 16 concurrent
requests fit the pool without opening overflow connections. Writes keep the unit of work.
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine


async def get_engine(request: Request) -> AsyncEngine:
    # Not `StateDep`: a plain-function dependency costs a thread-pool hop per request.
    return request.app.state.resources.engine


ReadEngine = Annotated[AsyncEngine, Depends(get_engine)]
