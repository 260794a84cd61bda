"""Anthropic messages through the official `anthropic` SDK."""

from typing import Any

import anthropic

from workers.providers.base import (
    ProviderReply,
    ProviderRequest,
    Turn,
    stainless_errors,
)


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
        messages = [{"role": turn.role, "content": _content(turn)} for turn in request.turns]
        with stainless_errors(anthropic, "anthropic", self._key):
            message = await self._client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                messages=messages,  # type: ignore[arg-type]
                **kwargs,
            )
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = [
            {"id": block.id, "name": block.name, "arguments": dict(block.input or {})}  # type: ignore[union-attr]
            for block in message.content
            if block.type == "tool_use"
        ]
        return ProviderReply(
            text=text,
            tool_calls=calls,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
        )

    async def aclose(self) -> None:
        await self._client.close()
