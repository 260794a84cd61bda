"""Gemini generateContent through the official `google-genai` SDK.

Gemini takes arbitrary web images only as inline bytes, so this adapter asks for them
(`needs_image_bytes`); the pipeline fetches them safely before the call.
"""

import base64
import secrets
from typing import Any

import aiohttp
import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from workers.providers.base import (
    TIMED_OUT,
    UNREACHABLE,
    ProviderCallError,
    ProviderReply,
    ProviderRequest,
    Turn,
    classify_status,
    redact,
    retry_after_seconds,
)

# google-genai runs on aiohttp when it is installed (it is: the other SDKs use it), else on httpx
# or its drop-in fork httpx2; catch each one's timeouts and transport errors.
_TIMEOUTS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    aiohttp.ServerTimeoutError,
    TimeoutError,
)
_TRANSPORT: tuple[type[BaseException], ...] = (httpx.TransportError, aiohttp.ClientConnectionError)
try:
    import httpx2

    _TIMEOUTS += (httpx2.TimeoutException,)
    _TRANSPORT += (httpx2.TransportError,)
except ImportError:  # pragma: no cover - depends on the installed SDK
    pass


def _parts(turn: Turn) -> list[dict[str, Any]]:
    if turn.role == "assistant":
        parts: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
        parts += [
            {"function_call": {"name": call["name"], "args": call["arguments"]}}
            for call in turn.tool_calls
        ]
        return parts
    parts = [
        {
            "function_response": {
                "name": result.get("name") or "tool",
                "response": {"output": result["output"]},
            }
        }
        for result in turn.tool_results
    ]
    if turn.text:
        parts.append({"text": turn.text})
    parts += [
        {"inline_data": {"mime_type": image["mimeType"], "data": base64.b64decode(image["data"])}}
        for image in turn.images
        if image.get("data")
    ]
    return parts


class GoogleProvider:
    name = "google"
    needs_image_bytes = True

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self._key = api_key
        options = (
            types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000))
            if base_url
            else types.HttpOptions(timeout=int(timeout * 1000))
        )
        # Keep the client referenced for the life of the process: an unreferenced one gets closed.
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def complete(self, request: ProviderRequest) -> ProviderReply:
        config: dict[str, Any] = {"max_output_tokens": request.max_tokens}
        if request.system:
            config["system_instruction"] = request.system
        if request.tools:
            config["tools"] = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=tool["name"],
                            description=tool.get("description", ""),
                            parameters_json_schema=tool.get("parameters")
                            or {"type": "object", "properties": {}},
                        )
                        for tool in request.tools
                    ]
                )
            ]
        contents = [
            {"role": "model" if turn.role == "assistant" else "user", "parts": _parts(turn)}
            for turn in request.turns
        ]
        try:
            response = await self._client.aio.models.generate_content(
                model=request.model,
                contents=contents,  # type: ignore[arg-type]
                config=types.GenerateContentConfig(**config),
            )
        except genai_errors.APIError as exc:
            message = redact(f"google: {exc.message or exc}", [self._key])
            headers = getattr(getattr(exc, "response", None), "headers", None)
            raise classify_status(exc.code or 500, message, retry_after_seconds(headers)) from exc
        except _TIMEOUTS as exc:
            raise ProviderCallError("PROVIDER_TIMEOUT", TIMED_OUT, retryable=True) from exc
        except _TRANSPORT as exc:
            raise ProviderCallError("PROVIDER_UNAVAILABLE", UNREACHABLE, retryable=True) from exc
        text_parts: list[str] = []
        calls: list[dict[str, Any]] = []
        candidate = response.candidates[0] if response.candidates else None
        for part in (candidate.content.parts if candidate and candidate.content else None) or []:
            if part.text:
                text_parts.append(part.text)
            if part.function_call:
                call = part.function_call
                calls.append(
                    {
                        "id": call.id or f"call_{secrets.token_hex(8)}",
                        "name": call.name,
                        "arguments": dict(call.args or {}),
                    }
                )
        usage = response.usage_metadata
        return ProviderReply(
            text="".join(text_parts),
            tool_calls=calls,
            input_tokens=(usage.prompt_token_count or 0) if usage else 0,
            output_tokens=(usage.candidates_token_count or 0) if usage else 0,
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()
