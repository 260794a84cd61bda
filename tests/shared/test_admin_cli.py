"""The real `assistants-admin` console script, run as operators run it, against the test database.

The subprocess inherits DATABASE_URL and REDIS_KEY_PREFIX from the environment tests/conftest.py
set up, so it reads the same settings as the app under test.
"""

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared.auth.service import hash_key
from shared.ids import new_id
from tests.factories import Tenant, assert_error, in_transaction

ADMIN = Path(sys.executable).parent / "assistants-admin"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


async def admin(*args: str) -> Result:
    # A wide terminal, so that error boxes do not wrap the messages the tests look for.
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    process = await asyncio.create_subprocess_exec(
        str(ADMIN),
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def created_company(name: str = "CLI Co") -> Tenant:
    result = await admin("company", "create", name)
    assert result.code == 0, result.stderr
    body = result.json()
    return Tenant(company_id=body["companyId"], api_key=body["apiKey"])


async def test_company_create_prints_the_company_id_and_a_working_key(client):
    result = await admin("company", "create", "Acme Support")

    assert result.code == 0, result.stderr
    body = result.json()
    assert set(body) == {"companyId", "apiKey"}
    assert len(body["companyId"]) == 24
    tenant = Tenant(company_id=body["companyId"], api_key=body["apiKey"])
    response = await client.get("/api/assistants", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["total"] == 0


async def test_key_create_issues_another_working_key_for_the_same_company(client):
    tenant = await created_company()

    result = await admin("key", "create", tenant.company_id)

    assert result.code == 0, result.stderr
    body = result.json()
    assert set(body) == {"keyId", "companyId", "apiKey"}
    assert body["companyId"] == tenant.company_id
    assert body["apiKey"] != tenant.api_key
    second = Tenant(company_id=tenant.company_id, api_key=body["apiKey"])
    created = await client.post(
        "/api/assistants",
        json={"name": "Shared", "llmProvider": "openai", "llmModel": "gpt-4o"},
        headers=tenant.headers,
    )
    response = await client.get(f"/api/assistants/{created.json()['id']}", headers=second.headers)
    assert response.status_code == 200, response.text


async def test_key_list_shows_every_key_without_secrets_or_hashes():
    tenant = await created_company()
    second = (await admin("key", "create", tenant.company_id)).json()

    result = await admin("key", "list", tenant.company_id)

    assert result.code == 0, result.stderr
    keys = result.json()
    assert [set(key) for key in keys] == [{"keyId", "prefix", "createdAt", "revokedAt"}] * 2
    assert keys[1]["keyId"] == second["keyId"]
    assert all(key["revokedAt"] is None for key in keys)
    assert tenant.api_key.startswith(keys[0]["prefix"])
    for raw in (tenant.api_key, second["apiKey"]):
        assert raw not in result.stdout and raw not in result.stderr
        assert hash_key(raw) not in result.stdout
    stored = await in_transaction(
        lambda session: session.scalars(
            text("SELECT key_hash FROM api_keys WHERE company_id = :c"), {"c": tenant.company_id}
        )
    )
    assert not any(digest in result.stdout for digest in stored.all())


async def test_key_revoke_makes_that_key_401_and_leaves_the_others_working(client):
    tenant = await created_company()
    second = (await admin("key", "create", tenant.company_id)).json()

    result = await admin("key", "revoke", second["keyId"])

    assert result.code == 0, result.stderr
    assert result.json()["keyId"] == second["keyId"] and result.json()["revokedAt"]
    revoked = {"Authorization": f"Bearer {second['apiKey']}"}
    assert_error(await client.get("/api/assistants", headers=revoked), 401, "UNAUTHORIZED")
    assert (await client.get("/api/assistants", headers=tenant.headers)).status_code == 200
    listed = (await admin("key", "list", tenant.company_id)).json()
    assert [key["revokedAt"] is not None for key in listed] == [False, True]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("key", "create", "{missing}"), "No company with id {missing}"),
        (("key", "list", "{missing}"), "No company with id {missing}"),
        (("key", "revoke", "{missing}"), "No API key with id {missing}"),
        (("key", "create", "nope"), "'nope' is not an id"),
        (("key", "revoke", "nope"), "'nope' is not an id"),
        (("company", "create", "   "), "must be 1 to 200 characters"),
        (("company", "create", "x" * 201), "must be 1 to 200 characters"),
    ],
    ids=[
        "key create, unknown company",
        "key list, unknown company",
        "key revoke, unknown key",
        "key create, malformed id",
        "key revoke, malformed id",
        "blank company name",
        "company name over 200",
    ],
)
async def test_bad_arguments_exit_nonzero_with_a_clear_message_and_no_traceback(args, expected):
    missing = new_id()

    result = await admin(*(arg.format(missing=missing) for arg in args))

    assert result.code != 0
    assert expected.format(missing=missing) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


async def test_migrate_is_idempotent():
    async def head() -> str:
        return await in_transaction(
            lambda session: session.scalar(text("SELECT version_num FROM alembic_version"))
        )

    before = await head()
    for _ in range(2):
        result = await admin("migrate")
        assert result.code == 0, result.stderr
        assert "latest migration" in result.stderr
        assert "created the database" not in result.stderr
    assert await head() == before
