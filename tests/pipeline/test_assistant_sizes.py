"""The limiter's token estimate from the sizes an API process keeps of an assistant
(`shared.jobs.assistant_sizes`), with a real worker answering the synchronous requests.

The test environment's limiter minute is 5 s; each test runs well inside one window.
"""

import pytest

from tests.factories import create_assistant, new_tenant
from tests.pipeline.limits_helpers import limit_company

pytestmark = pytest.mark.usefixtures("worker")


async def _execute(client, tenant, assistant_id: str, text: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/assistants/{assistant_id}/execute", json={"userInput": text}, headers=tenant.headers
    )


async def test_a_larger_max_tokens_reaches_the_estimate_from_the_second_request(client, emu):
    tenant = await new_tenant("sizes-update")
    await limit_company(tenant.company_id, tpm=4_000)
    assistant = await create_assistant(client, tenant, maxTokens=100, llmPrompt="Short")
    assert (await _execute(client, tenant, assistant["id"], "sizes warm")).status_code == 200

    changed = await client.put(
        f"/api/assistants/{assistant['id']}", json={"maxTokens": 8_000}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    # Estimated with the 100 tokens this process stored; the job itself runs with 8,000, and
    # its insert hands the new size to the process.
    stale = await _execute(client, tenant, assistant["id"], "sizes stale")
    assert stale.status_code == 200, stale.text
    assert emu.requests(contains="sizes stale")[0]["maxTokens"] == 8_000

    refused = await _execute(client, tenant, assistant["id"], "sizes fresh")
    assert refused.status_code == 429, refused.text
    assert "tokens per minute" in refused.json()["error"]["message"]
    assert emu.requests(contains="sizes fresh") == []


async def test_a_deleted_assistant_holds_nothing_and_its_next_request_never_reaches_the_limiter(
    client, emu
):
    tenant = await new_tenant("sizes-deleted")
    await limit_company(tenant.company_id, rpm=10, tpm=100_000, concurrency=3)
    assistant = await create_assistant(client, tenant, maxTokens=100)
    warm = await _execute(client, tenant, assistant["id"], "sizes before delete")
    assert warm.status_code == 200, warm.text
    used = warm.json()["usage"]["inputTokens"] + warm.json()["usage"]["outputTokens"]
    deleted = await client.delete(f"/api/assistants/{assistant['id']}", headers=tenant.headers)
    assert deleted.status_code == 200, deleted.text

    for attempt in range(2):
        gone = await _execute(client, tenant, assistant["id"], f"sizes after delete {attempt}")
        assert gone.status_code == 404, gone.text
        assert gone.json()["error"]["code"] == "ASSISTANT_NOT_FOUND"
        limits = (await client.get("/api/limits", headers=tenant.headers)).json()
        # The first 404 was admitted on the stored sizes (one request counted), its tokens and
        # slot handed back; it dropped the entry, so the second is refused before the limiter.
        assert limits["requestsPerMinute"] == {"limit": 10, "remaining": 8}
        assert limits["tokensPerMinute"] == {"limit": 100_000, "remaining": 100_000 - used}
        assert limits["concurrentJobs"] == {"limit": 3, "remaining": 3}
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 1
    assert emu.requests(contains="sizes after delete") == []
