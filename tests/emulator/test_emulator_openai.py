"""The real openai SDK against the emulator's Chat Completions endpoint."""

from __future__ import annotations

import json

import openai
import pytest

from emulator.testing import EmulatorProcess

MODEL = "gpt-4o-mini"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def client(emu: EmulatorProcess, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{emu.url}/v1", api_key="sk-test-1234", **kwargs)  # type: ignore[arg-type]


def test_plain_reply_and_usage(emu: EmulatorProcess) -> None:
    result = client(emu).chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "how are you?"},
        ],
    )
    text = "Echo: how are you? [turns=3]"
    assert result.object == "chat.completion"
    assert result.model == MODEL
    assert result.id.startswith("chatcmpl-")
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == text
    assert result.choices[0].finish_reason == "stop"
    chars = len("Be brief.") + len("hello") + len("hi") + len("how are you?")  # 28
    assert result.usage is not None
    assert result.usage.prompt_tokens == 7 == -(-chars // 4)
    assert result.usage.completion_tokens == -(-len(text) // 4)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_streaming_with_usage(emu: EmulatorProcess) -> None:
    stream = client(emu).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "stream me please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me please [turns=1]"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == -(-len(text) // 4)


def test_tool_call_and_result_round_trip(emu: EmulatorProcess) -> None:
    api = client(emu)
    messages: list[dict[str, object]] = [
        {"role": "user", "content": 'Weather? [call:get_weather {"city": "Paris"}]'}
    ]
    first = api.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"})
    second = api.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert second.choices[0].message.content == "Tool result: sunny, 21C [turns=3]"


def test_call_marker_without_tools_is_echoed(emu: EmulatorProcess) -> None:
    result = client(emu).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "[call:get_weather]"}]
    )
    assert result.choices[0].message.content == "Echo: [call:get_weather] [turns=1]"


def test_streamed_tool_call(emu: EmulatorProcess) -> None:
    stream = client(emu).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "[call:get_weather]"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        stream=True,
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    calls = [tc for d in deltas for tc in d.tool_calls or []]
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert "".join(tc.function.arguments or "" for tc in calls) == "{}"  # type: ignore[union-attr]


def test_images_are_counted(emu: EmulatorProcess) -> None:
    result = client(emu).chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            }
        ],
    )
    assert result.choices[0].message.content == "Echo: what is this? [turns=1] [images=2]"


def test_rate_limit_fault_with_retry_after(emu: EmulatorProcess) -> None:
    emu.fault(match="please-limit", status=429, times=1, retryAfter=7)
    api = client(emu, max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        api.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "please-limit"}]
        )
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    # The fault was used up: the same request now succeeds.
    ok = api.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "please-limit"}]
    )
    assert ok.choices[0].message.content == "Echo: please-limit [turns=1]"


def test_server_error_fault_and_sdk_retry(emu: EmulatorProcess) -> None:
    emu.fault(match="flaky", status=500, times=1)
    with pytest.raises(openai.InternalServerError):
        client(emu, max_retries=0).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "flaky"}]
        )
    emu.fault(match="flaky", status=500, times=1)
    result = client(emu, max_retries=1).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "flaky"}]
    )
    assert result.choices[0].message.content == "Echo: flaky [turns=1]"
    assert [r["status"] for r in emu.requests(contains="flaky")] == [500, 500, 200]


def test_delay_fault_times_out_the_sdk(emu: EmulatorProcess) -> None:
    emu.fault(match="slowpoke", status=200, delayMs=2000)
    with pytest.raises(openai.APITimeoutError):
        client(emu, max_retries=0, timeout=0.3).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "slowpoke"}]
        )
