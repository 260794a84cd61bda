"""The /_emulator control API, authentication, and behaviour under load."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import orjson
import pytest

from emulator.app import create_app
from emulator.testing import EmulatorProcess

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {
    "model": "claude-test",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_health(emu: EmulatorProcess) -> None:
    assert emu.control.get("/_emulator/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "body", "check"),
    [
        ("/v1/chat/completions", CHAT, lambda b: b["error"]["code"] == "invalid_api_key"),
        ("/v1/messages", MESSAGES, lambda b: b["error"]["type"] == "authentication_error"),
        (
            "/v1beta/models/gemini-x:generateContent",
            GEMINI,
            lambda b: b["error"]["status"] == "UNAUTHENTICATED" and b["error"]["code"] == 401,
        ),
    ],
)
def test_missing_key_gets_provider_shaped_401(emu: EmulatorProcess, path, body, check) -> None:  # type: ignore[no-untyped-def]
    response = emu.control.post(path, json=body)
    assert response.status_code == 401
    assert check(response.json())


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer key-aaaa"},
        {"x-api-key": "key-aaaa"},
        {"x-goog-api-key": "key-aaaa"},
    ],
)
def test_every_key_header_is_accepted(emu: EmulatorProcess, headers: dict[str, str]) -> None:
    response = emu.control.post("/v1/messages", json=MESSAGES, headers=headers)
    assert response.status_code == 200
    assert emu.requests()[-1]["apiKey"] == "aaaa"


def test_malformed_body_gets_400(emu: EmulatorProcess) -> None:
    response = emu.control.post(
        "/v1/chat/completions", content=b"{nope", headers={"authorization": "Bearer k"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_request_record_and_filters(emu: EmulatorProcess) -> None:
    headers = {"authorization": "Bearer sk-secret-wxyz"}
    emu.control.post("/v1/chat/completions", json=CHAT, headers=headers)
    marked = {**MESSAGES, "messages": [{"role": "user", "content": "needle-42 café"}]}
    emu.control.post("/v1/messages", json=marked, headers=headers)
    emu.control.post("/v1/models/gemini-x:generateContent", json=GEMINI, headers=headers)

    records = emu.requests()
    assert [r["provider"] for r in records] == ["openai", "anthropic", "gemini"]
    first = records[0]
    assert first["apiKey"] == "wxyz"
    assert first["path"] == "/v1/chat/completions"
    assert first["model"] == "gpt-test"
    assert first["body"] == CHAT
    assert first["status"] == 200
    assert first["inputTokens"] == 1 and first["outputTokens"] >= 1
    assert isinstance(first["receivedAt"], float) and first["receivedAt"] <= time.time()
    assert records[2]["model"] == "gemini-x"

    assert [r["provider"] for r in emu.requests(contains="needle-42")] == ["anthropic"]
    assert len(emu.requests(contains="café")) == 1
    assert [r["provider"] for r in emu.requests(provider="gemini")] == ["gemini"]
    assert [r["id"] for r in emu.requests(limit=1)] == [records[-1]["id"]]
    assert emu.stats()["byProvider"] == {"openai": 1, "anthropic": 1, "gemini": 1}

    emu.clear_requests()
    assert emu.requests() == []


def test_latency_config(emu: EmulatorProcess) -> None:
    assert emu.configure(latencyMs=300, latencyJitterMs=50)["latencyMs"] == 300
    api = openai.OpenAI(base_url=f"{emu.url}/v1", api_key="k", max_retries=0)
    started = time.perf_counter()
    api.chat.completions.create(model="m", messages=[{"role": "user", "content": "slow"}])
    assert 0.3 <= time.perf_counter() - started < 2.0
    emu.configure(latencyMs=0, latencyJitterMs=0)
    started = time.perf_counter()
    api.chat.completions.create(model="m", messages=[{"role": "user", "content": "fast"}])
    assert time.perf_counter() - started < 0.3


def test_bad_control_input_is_rejected(emu: EmulatorProcess) -> None:
    assert emu.control.put("/_emulator/config", json={"latencyMs": -1}).status_code == 400
    assert emu.control.post("/_emulator/faults", json={"status": 99}).status_code == 400
    assert emu.control.post("/_emulator/faults", json={"times": 0}).status_code == 400


def test_faults_apply_in_registration_order_and_expire(emu: EmulatorProcess) -> None:
    emu.fault(match="order", status=503, times=1)
    emu.fault(match="order", status=429, times=2)
    assert [f["status"] for f in emu.control.get("/_emulator/faults").json()] == [503, 429]
    headers = {"authorization": "Bearer k"}
    body = {"model": "m", "messages": [{"role": "user", "content": "order"}]}
    statuses = [
        emu.control.post("/v1/chat/completions", json=body, headers=headers).status_code
        for _ in range(4)
    ]
    assert statuses == [503, 429, 429, 200]
    assert emu.control.get("/_emulator/faults").json() == []
    other = {"model": "m", "messages": [{"role": "user", "content": "unrelated"}]}
    emu.fault(match="order", status=500)
    assert emu.control.post("/v1/chat/completions", json=other, headers=headers).status_code == 200
    emu.clear_faults()
    assert emu.control.post("/v1/chat/completions", json=body, headers=headers).status_code == 200


def test_delay_fault_with_status_200_answers_normally(emu: EmulatorProcess) -> None:
    emu.fault(match="hang", status=200, delayMs=400)
    body = {"model": "m", "messages": [{"role": "user", "content": "hang"}]}
    started = time.perf_counter()
    response = emu.control.post("/v1/chat/completions", json=body, headers={"x-api-key": "k"})
    assert time.perf_counter() - started >= 0.4
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hang [turns=1]"


async def _raw_post(port: int, path: str, body: bytes) -> int:
    """One bare HTTP/1.1 request on its own connection; returns the status code.

    httpx's connection pool is itself slow with >1,000 connections, so it would measure the
    client rather than the emulator.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: emulator\r\nx-api-key: k\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_thousands_of_concurrent_requests_with_latency(emu: EmulatorProcess) -> None:
    emu.configure(latencyMs=1000)
    count = 2000
    body = orjson.dumps(CHAT)
    started = time.perf_counter()
    statuses = await asyncio.gather(
        *(_raw_post(emu.port, "/v1/chat/completions", body) for _ in range(count))
    )
    elapsed = time.perf_counter() - started
    assert statuses == [200] * count
    # Serialized this would take 2,000 s; concurrently it is the latency plus overhead.
    assert elapsed < 10, f"{count} requests with 1 s latency took {elapsed:.1f}s"
    assert emu.stats()["byStatus"] == {"200": count}


async def test_record_is_bounded_in_process() -> None:
    app = create_app(max_records=3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        for i in range(5):
            body = {"model": "m", "messages": [{"role": "user", "content": f"n{i}"}]}
            await client.post("/v1/chat/completions", json=body, headers={"x-api-key": "k"})
        records = (await client.get("/_emulator/requests")).json()
        stats = (await client.get("/_emulator/stats")).json()
    assert [r["body"]["messages"][0]["content"] for r in records] == ["n2", "n3", "n4"]
    assert stats["totalRequests"] == 5 and stats["recorded"] == 3
