"""Dependencies every router uses: the unit of work and the authenticated company."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.state import AppState
from shared.auth.service import Principal, authenticate
from shared.errors import Unauthorized


def get_state(request: Request) -> AppState:
    return request.app.state.resources


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent (scope="function")."""
    async with state.sessionmaker() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(request: Request, state: StateDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    async with state.sessionmaker() as session:
        return await authenticate(session, token.strip())


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
