"""The claim, and an insert of interactive jobs only, commit without waiting for the WAL's flush:
inside their own transaction only, never leaking to the pooled connection's next statement."""

import uuid

import asyncpg
import pytest

from shared.config import get_settings
from shared.db import create_driver_pool, utcnow
from shared.ids import new_id
from shared.jobs import lifecycle
from shared.jobs.fresh_admission import _INSERT_MANY, relaxed_commit
from tests.factories import create_assistant
from tests.shared.test_session_turns import LEASE, _admit, sessions  # noqa: F401
from workers.runtime import job_path_pool

SHOW = "SHOW synchronous_commit"


async def test_a_claim_relaxes_its_own_commit_and_leaves_the_connection_synchronous(
    client,
    tenant,
    sessions,  # noqa: F811
):
    assistant = await create_assistant(client, tenant)
    first, second = [
        await _admit(sessions, tenant.company_id, assistant["id"], f"q{i}", uuid.uuid4().hex)
        for i in range(2)
    ]
    pool = await job_path_pool(get_settings())
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval(SHOW) == "on"
            async with connection.transaction():  # to look inside the claim's transaction
                claims = await lifecycle.claim_many(connection, [first.id], LEASE)
                assert await connection.fetchval(SHOW) == "off"
            assert [c.job.id for c in claims] == [first.id]
            # As workers run it: one statement, its own transaction; the outcome's write that
            # follows on this connection commits synchronously again.
            claims = await lifecycle.claim_many(connection, [second.id], LEASE)
            assert [c.job.id for c in claims] == [second.id]
            assert await connection.fetchval(SHOW) == "on"
            # Nothing to claim (both taken): the statement still answers, with no rows.
            assert await lifecycle.claim_many(connection, [first.id, second.id], LEASE) == []
            assert await connection.fetchval(SHOW) == "on"
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("kinds", "relaxed"),
    [
        (["interactive"], True),
        (["interactive", "interactive"], True),
        (["interactive", "async"], False),
        (["batch"], False),
        (["async"], False),
    ],
)
def test_only_a_group_of_interactive_jobs_may_commit_relaxed(kinds, relaxed):
    assert relaxed_commit(kinds) is relaxed


async def _insert_in_transaction(
    connection: asyncpg.Connection, company_id: str, assistant_id: str, kind: str
) -> str:
    """Run the group insert for one job inside a transaction; the setting it left there."""
    async with connection.transaction():
        records = await connection.fetch(
            _INSERT_MANY,
            [new_id()],
            [new_id()],
            [assistant_id],
            [company_id],
            [kind],
            ['{"userInput": "hi"}'],
            [None],
            [utcnow()],
            relaxed_commit([kind]),
        )
        assert len(records) == 1  # the row is written either way
        return str(await connection.fetchval(SHOW))


async def test_the_group_insert_relaxes_only_for_interactive_jobs(client, tenant):
    assistant = await create_assistant(client, tenant)
    pool = await create_driver_pool(get_settings(), 1)
    try:
        async with pool.acquire() as connection:
            seen = {
                kind: await _insert_in_transaction(
                    connection, tenant.company_id, assistant["id"], kind
                )
                for kind in ("interactive", "async", "batch")
            }
            assert await connection.fetchval(SHOW) == "on"
    finally:
        await pool.close()
    assert seen == {"interactive": "off", "async": "on", "batch": "on"}
