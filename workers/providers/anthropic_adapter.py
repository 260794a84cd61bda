"""Anthropic messages through the official `anthropic` SDK."""

from typing import Any

import anthropic
import orjson

from workers.providers.base import (
    ProviderReply,
    ProviderRequest,
    Turn,
    malformed_reply,
    stainless_errors,
    stainless_options,
)

# As in the OpenAI adapter: the client's generic `post` with our wire-format body, read as the
# JSON the SDK parsed (`cast_to=object`). `messages.create` adds its argument transform, a
# per-call model-deprecation check and telemetry span options, a quarter to a third of the SDK's
# CPU per call (1.3-1.5 against 0.9-1.2 ms, 1,500 calls to the emulator, 50 in flight); auth and the
# API version are the client's default headers either way, and errors are the SDK's exceptions.
# The body goes as orjson bytes to the endpoint's absolute URL, as in the OpenAI adapter: 0.48-0.51
# against 0.55-0.64 ms of client CPU per call (1,500 calls to the emulator, 50 in flight, 4 rounds).


def _content(turn: Turn) -> list[dict[str, Any]]:
    if turn.role == "assistant":
        blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        blocks += [
            {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["arguments"]}
            for call in turn.tool_calls
        ]
        return blocks
    blocks = [
        {"type": "tool_result", "tool_use_id": result["toolCallId"], "content": result["output"]}
        for result in turn.tool_results
    ]
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    blocks += [
        {"type": "image", "source": {"type": "url", "url": image["url"]}} for image in turn.images
    ]
    return blocks


def _reply(message: Any) -> ProviderReply:
    """Text and tool calls of a message, from its wire format."""
    with malformed_reply("anthropic"):
        content = message["content"]
        usage = message["usage"]
        return ProviderReply(
            text="".join(block["text"] for block in content if block["type"] == "text"),
            tool_calls=[
                {"id": block["id"], "name": block["name"], "arguments": dict(block["input"] or {})}
                for block in content
                if block["type"] == "tool_use"
            ],
            input_tokens=int(usage["input_tokens"]),
            output_tokens=int(usage["output_tokens"]),
        )


class AnthropicProvider:
    name = "anthropic"
    needs_image_bytes = False

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self._key = api_key
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            # httpx's pool scans every connection on each request: at hundreds of calls in
            # flight that cost more CPU than the call itself (see docs/benchmarks.md).
            http_client=anthropic.DefaultAioHttpClient(timeout=timeout),
        )
        self._url = str(self._client.base_url.join("v1/messages"))

    async def complete(self, request: ProviderRequest) -> ProviderReply:
        kwargs: dict[str, Any] = {}
        if request.system:
            kwargs["system"] = request.system
        if request.tools:
            kwargs["tools"] = [
                {
                    "name": tool["name"],
                    "description": tool.get("description", ""),
                    "input_schema": tool.get("parameters") or {"type": "object", "properties": {}},
                }
                for tool in request.tools
            ]
        body = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": turn.role, "content": _content(turn)} for turn in request.turns],
            **kwargs,
        }
        with stainless_errors(anthropic, "anthropic", self._key):
            message = await self._client.post(
                self._url,
                cast_to=object,
                content=orjson.dumps(body),
                options=stainless_options(request),
            )
        return _reply(message)

    async def aclose(self) -> None:
        await self._client.close()
