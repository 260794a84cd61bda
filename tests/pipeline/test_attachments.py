"""Image attachments: URLs for OpenAI and Anthropic, bytes fetched safely by the worker for Google."""

import pytest

from tests.factories import assert_error, create_assistant
from tests.pipeline.conftest import wait_for_job
from tests.pipeline.helpers import execute, unique

pytestmark = pytest.mark.usefixtures("worker")


def image(url: str, mime_type: str = "image/png", kind: str = "url") -> dict[str, str]:
    return {"type": kind, "mimeType": mime_type, "url": url}


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-4o"), ("anthropic", "claude-haiku-4-5")]
)
async def test_image_urls_are_passed_to_the_provider_as_urls(client, tenant, emu, provider, model):
    assistant = await create_assistant(client, tenant, llmProvider=provider, llmModel=model)
    url = f"https://images.example.com/{unique('receipt').replace(' ', '-')}.png"
    text = unique("What is in this picture?")

    response = await execute(
        client, tenant, assistant["id"], userInput=text, attachments=[image(url)]
    )

    assert response.status_code == 200, response.text
    assert response.json()["response"] == f"Echo: {text} [turns=1] [images=1]"
    [call] = emu.requests(contains=text)
    assert url in str(call["body"])
    detail = await client.get(
        f"/api/sessions/{response.json()['sessionId']}", headers=tenant.headers
    )
    assert detail.json()["messages"][0]["content"]["attachments"] == [image(url)]


async def test_google_gets_the_image_bytes_fetched_by_the_worker(client, tenant, emu):
    assistant = await create_assistant(
        client, tenant, llmProvider="google", llmModel="gemini-2.5-flash"
    )
    text = unique("Describe the image")

    response = await execute(
        client,
        tenant,
        assistant["id"],
        userInput=text,
        attachments=[image(f"{emu.url}/_emulator/image.png")],
    )

    assert response.status_code == 200, response.text
    assert response.json()["response"] == f"Echo: {text} [turns=1] [images=1]"
    [call] = emu.requests(contains=text)
    assert "inlineData" in str(call["body"]) or "inline_data" in str(call["body"])


async def test_google_attachment_on_a_loopback_host_fails_without_fetching(client, tenant, emu):
    assistant = await create_assistant(
        client, tenant, llmProvider="google", llmModel="gemini-2.5-flash"
    )
    text = unique("Describe the internal image")
    # `localhost` is not on the allow-list (127.0.0.1 is) and resolves to a loopback address.
    url = f"http://localhost:{emu.port}/_emulator/image.png"

    response = await execute(
        client, tenant, assistant["id"], userInput=text, attachments=[image(url)]
    )

    error = assert_error(response, 502, "ATTACHMENT_FETCH_FAILED")
    assert emu.requests(contains=text) == []
    job = await wait_for_job(client, tenant.headers, error["details"]["jobId"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "ATTACHMENT_FETCH_FAILED"


async def test_async_google_attachment_on_a_loopback_host_fails_the_job(client, tenant, emu):
    assistant = await create_assistant(
        client, tenant, llmProvider="google", llmModel="gemini-2.5-flash"
    )
    url = f"http://localhost:{emu.port}/_emulator/image.png"
    response = await execute(
        client,
        tenant,
        assistant["id"],
        respond_async=True,
        userInput="async image",
        attachments=[image(url)],
    )
    assert response.status_code == 202
    job = await wait_for_job(client, tenant.headers, response.json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "ATTACHMENT_FETCH_FAILED"
    assert job["result"] is None


async def test_attachment_to_a_model_without_images_is_400(client, tenant, emu):
    assistant = await create_assistant(client, tenant, llmModel="gpt-3.5-turbo")
    text = unique("picture for an old model")
    response = await execute(
        client,
        tenant,
        assistant["id"],
        userInput=text,
        attachments=[image("https://images.example.com/a.png")],
    )
    assert_error(response, 400, "UNSUPPORTED_ATTACHMENT")
    assert emu.requests(contains=text) == []


@pytest.mark.parametrize(
    "attachment",
    [
        image("https://images.example.com/a.png", kind="file"),
        image("https://images.example.com/a.pdf", mime_type="application/pdf"),
        image("ftp://images.example.com/a.png"),
    ],
    ids=["type-file", "mime-pdf", "scheme-ftp"],
)
async def test_unsupported_attachment_is_400_and_creates_no_job(client, tenant, attachment):
    assistant = await create_assistant(client, tenant)
    response = await execute(
        client, tenant, assistant["id"], userInput="look", attachments=[attachment]
    )
    assert_error(response, 400, "UNSUPPORTED_ATTACHMENT", field="attachments.0")
    jobs = (await client.get("/api/jobs", headers=tenant.headers)).json()
    assert jobs["meta"]["total"] == 0


@pytest.mark.parametrize(
    "url",
    ["http://[::1/a.png", "http://images.example.com:99999/a.png", "https:///a.png"],
    ids=["broken-ipv6", "port-out-of-range", "no-host"],
)
async def test_malformed_attachment_url_is_400(client, tenant, url):
    assistant = await create_assistant(
        client, tenant, llmProvider="google", llmModel="gemini-2.5-flash"
    )
    response = await execute(
        client, tenant, assistant["id"], userInput="look", attachments=[image(url)]
    )
    assert_error(response, 400, "UNSUPPORTED_ATTACHMENT", field="attachments.0")
