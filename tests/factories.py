"""Small helpers that create test data through the same services the product uses."""

from dataclasses import dataclass
from typing import Any

import httpx

from shared.companies.service import create_company
from shared.config import get_settings
from shared.db import create_engine, create_sessionmaker


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


async def create_assistant(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/assistants", json=assistant_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()
