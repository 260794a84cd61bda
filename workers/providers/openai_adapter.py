"""OpenAI chat completions through the official `openai` SDK."""

import json
from typing import Any

import openai
import orjson

from workers.providers.base import (
    ProviderReply,
    ProviderRequest,
    Turn,
    malformed_reply,
    stainless_errors,
    stainless_options,
)

# Why the client's generic `post` rather than `chat.completions.create`: `create` first walks the
# whole request through the SDK's TypedDict transform, two thirds of its client CPU per call (2.6
# against 0.9 ms per call, 2,000 calls to the emulator, 50 in flight). Our messages are already
# plain wire-format dicts, so they go through `post` (the SDK's documented way to send a request
# as given) with the one option `create` adds, bearer auth. The reply is read as the JSON the SDK
# parsed (`cast_to=object`) rather than built into `ChatCompletion` models, a seventh of the
# call's CPU (1.5 against 1.3 ms per call). Errors come back as the SDK's exceptions all the same.
# The body goes as `content` (bytes from orjson, not the SDK's json encoder) to the endpoint's
# absolute URL (the SDK joins a relative path onto `base_url` for every call): together a tenth of
# the SDK's CPU per call in a batch drain (py-spy).
_BEARER_AUTH: Any = {"bearer_auth": True}


def _parse_arguments(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def _messages(request: ProviderRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for turn in request.turns:
        messages.extend(_turn(turn))
    return messages


def _turn(turn: Turn) -> list[dict[str, Any]]:
    if turn.role == "assistant":
        message: dict[str, Any] = {"role": "assistant", "content": turn.text}
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
                }
                for call in turn.tool_calls
            ]
        return [message]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": result["toolCallId"], "content": result["output"]}
        for result in turn.tool_results
    ]
    if turn.images:
        content: list[dict[str, Any]] = [{"type": "text", "text": turn.text or ""}]
        content += [
            {"type": "image_url", "image_url": {"url": image["url"]}} for image in turn.images
        ]
        out.append({"role": "user", "content": content})
    elif turn.text:
        out.append({"role": "user", "content": turn.text})
    return out


def _reply(completion: Any) -> ProviderReply:
    """The first choice of a chat completion, from its wire format."""
    with malformed_reply("openai"):
        message = completion["choices"][0]["message"]
        calls = [
            {
                "id": call["id"],
                "name": call["function"]["name"],
                "arguments": _parse_arguments(call["function"].get("arguments")),
            }
            for call in message.get("tool_calls") or []
            if call.get("type") == "function"
        ]
        usage = completion.get("usage") or {}
        return ProviderReply(
            text=message.get("content") or "",
            tool_calls=calls,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        )


class OpenAIProvider:
    name = "openai"
    needs_image_bytes = False

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self._key = api_key
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            # The SDK's aiohttp transport: httpx's pool scans every connection on each request,
            # which at hundreds of calls in flight costs more CPU than the call itself.
            http_client=openai.DefaultAioHttpClient(timeout=timeout),
        )
        self._url = str(self._client.base_url.join("chat/completions"))

    async def complete(self, request: ProviderRequest) -> ProviderReply:
        kwargs: dict[str, Any] = {}
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool["name"],
                        "description": tool.get("description", ""),
                        "parameters": tool.get("parameters")
                        or {"type": "object", "properties": {}},
                    },
                }
                for tool in request.tools
            ]
        body = {
            "model": request.model,
            "messages": _messages(request),
            "max_completion_tokens": request.max_tokens,
            **kwargs,
        }
        with stainless_errors(openai, "openai", self._key):
            completion = await self._client.post(
                self._url,
                cast_to=object,
                content=orjson.dumps(body),
                options=stainless_options(request, security=_BEARER_AUTH),
            )
        return _reply(completion)

    async def aclose(self) -> None:
        await self._client.close()
