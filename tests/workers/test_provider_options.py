"""The options the adapters give the Stainless SDKs' `post`, seen through the real SDK clients
calling the emulator."""

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from emulator.testing import EmulatorProcess
from workers.providers.anthropic_adapter import AnthropicProvider
from workers.providers.base import ProviderRequest, Turn
from workers.providers.openai_adapter import OpenAIProvider


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as server:
        yield server


@pytest.fixture(params=["openai", "anthropic"])
async def provider(request: pytest.FixtureRequest, emulator: EmulatorProcess) -> AsyncIterator[Any]:
    if request.param == "openai":
        adapter: Any = OpenAIProvider("emulated", f"{emulator.url}/v1", 10.0)
    else:
        adapter = AnthropicProvider("emulated", emulator.url, 10.0)
    yield adapter
    await adapter.aclose()


@pytest.fixture
def uuid4_calls(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Every `uuid.uuid4()` drawn in this process while the test runs."""
    drawn: list[uuid.UUID] = []
    real = uuid.uuid4

    def counting() -> uuid.UUID:
        drawn.append(real())
        return drawn[-1]

    monkeypatch.setattr(uuid, "uuid4", counting)
    return drawn


def question(idempotency_key: str | None) -> ProviderRequest:
    return ProviderRequest(
        model="m",
        system=None,
        turns=[Turn(role="user", text="Hello")],
        max_tokens=16,
        idempotency_key=idempotency_key,
    )


async def test_a_call_with_the_jobs_key_draws_no_key_of_the_sdks_own(
    provider: Any, uuid4_calls: list[uuid.UUID]
) -> None:
    reply = await provider.complete(question("job_1"))

    assert "Hello" in reply.text
    assert uuid4_calls == []


async def test_without_a_key_the_sdk_draws_one_per_call(
    provider: Any, uuid4_calls: list[uuid.UUID]
) -> None:
    """Why the adapters pass the job's id: the SDK's own key costs a `uuid4` on every call."""
    await provider.complete(question(None))
    await provider.complete(question(None))

    assert len(uuid4_calls) >= 2
