"""Small helpers that create test data through the same services the product uses."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.cache import announce_tenancy_change
from shared.auth.service import issue_key, revoke_key
from shared.companies.service import create_company
from shared.config import get_settings
from shared.db import create_engine, create_sessionmaker
from shared.models import Assistant

T = TypeVar("T")


@dataclass
class Tenant:
    company_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def new_tenant(name: str = "Test Co") -> Tenant:
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            company, raw = await create_company(session, name)
    finally:
        await engine.dispose()
    return Tenant(company_id=company.id, api_key=raw)


def assistant_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Support Agent",
        "description": "Customer support assistant",
        "llmProvider": "openai",
        "llmModel": "gpt-4o",
        "llmPrompt": "You are a helpful customer support agent...",
        "maxTokens": 4096,
        "language": "en",
        "teamIds": ["team-123"],
    }
    body.update(overrides)
    return body


async def create_assistant(
    client: httpx.AsyncClient, tenant: Tenant, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/assistants", json=assistant_body(**overrides), headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a short-lived engine of the test database."""
    engine = create_engine(get_settings(), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


async def add_key(tenant: Tenant) -> tuple[str, Tenant]:
    """Another API key for the tenant's company: (key id, the same company seen through it)."""

    async def work(session: AsyncSession) -> tuple[str, Tenant]:
        key, raw = await issue_key(session, tenant.company_id)
        return key.id, Tenant(company_id=tenant.company_id, api_key=raw)

    return await in_transaction(work)


async def revoke(key_id: str) -> None:
    async def work(session: AsyncSession) -> None:
        await revoke_key(session, key_id)

    await in_transaction(work)
    await announce_tenancy_change(get_settings())


async def set_last_accessed(assistant_id: str, when: datetime | None) -> None:
    """What an execution does to `lastAccessedAt`, without running one."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(Assistant).where(Assistant.id == assistant_id).values(last_accessed_at=when)
        )

    await in_transaction(work)


async def assistant_row(assistant_id: str) -> Assistant | None:
    """The database row, deleted or not (the API hides deleted ones)."""

    async def work(session: AsyncSession) -> Assistant | None:
        return await session.get(Assistant, assistant_id)

    return await in_transaction(work)


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The response is the spec's error envelope with this status and code (and names `field`)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"], body
    assert set(error) <= {"code", "message", "details"}, body
    if field is not None:
        fields = [detail.get("field") for detail in error.get("details") or []]
        assert field in fields, body
    return error
