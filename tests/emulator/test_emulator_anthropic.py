"""The real anthropic SDK against the emulator's Messages endpoint."""

from __future__ import annotations

import anthropic
import pytest

from emulator.testing import EmulatorProcess

MODEL = "claude-haiku-4-5"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def client(emu: EmulatorProcess, **kwargs: object) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=emu.url, api_key="sk-ant-test-5678", **kwargs)  # type: ignore[arg-type]


def test_plain_reply_and_usage(emu: EmulatorProcess) -> None:
    message = client(emu).messages.create(
        model=MODEL,
        max_tokens=256,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "how are you?"},
        ],
    )
    text = "Echo: how are you? [turns=3]"
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.content[0].type == "text"
    assert message.content[0].text == text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 7
    assert message.usage.output_tokens == -(-len(text) // 4)
    record = emu.requests(provider="anthropic")[-1]
    assert record["maxTokens"] == 256
    assert record["apiKey"] == "5678"


def test_streaming(emu: EmulatorProcess) -> None:
    with client(emu).messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "stream me please"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == "Echo: stream me please [turns=1]"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == -(-len("".join(pieces)) // 4)
    assert final.usage.input_tokens == 4


def test_raw_stream_event_order(emu: EmulatorProcess) -> None:
    events = client(emu).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}], stream=True
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_tool_use_and_result_round_trip(emu: EmulatorProcess) -> None:
    api = client(emu)
    messages: list[dict[str, object]] = [
        {"role": "user", "content": 'Weather? [call:get_weather {"city": "Oslo"}]'}
    ]
    first = api.messages.create(model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type,list-item]
    assert first.stop_reason == "tool_use"
    block = first.content[0]
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert block.name == "get_weather"
    assert block.input == {"city": "Oslo"}

    messages.append({"role": "assistant", "content": [b.model_dump() for b in first.content]})
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "snow, -3C"}],
        }
    )
    second = api.messages.create(
        model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER_TOOL]
    )  # type: ignore[arg-type,list-item]
    assert second.content[0].text == "Tool result: snow, -3C [turns=3]"  # type: ignore[union-attr]


def test_streamed_tool_use(emu: EmulatorProcess) -> None:
    with client(emu).messages.stream(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": '[call:get_weather {"city": "Rome"}]'}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].input == {"city": "Rome"}  # type: ignore[union-attr]


def test_images_are_counted(emu: EmulatorProcess) -> None:
    message = client(emu).messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.png"},
                    },
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                    {"type": "text", "text": "describe"},
                ],
            }
        ],
    )
    assert message.content[0].text == "Echo: describe [turns=1] [images=2]"  # type: ignore[union-attr]


def test_rate_limit_fault_with_retry_after(emu: EmulatorProcess) -> None:
    emu.fault(match="please-limit", status=429, retryAfter=3, provider="anthropic")
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(emu, max_retries=0).messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "please-limit"}]
        )
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_server_error_fault(emu: EmulatorProcess) -> None:
    emu.fault(match="boom", status=500, times=2)
    api = client(emu, max_retries=0)
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            api.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "boom"}]
            )
    ok = api.messages.create(
        model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "boom"}]
    )
    assert ok.content[0].text == "Echo: boom [turns=1]"  # type: ignore[union-attr]
