"""The provider-agnostic request path: record, authenticate, apply faults and latency, answer.

Written against raw Starlette requests with orjson and no validation layer, because benchmarks
drive thousands of requests per second through it; latency is a plain ``asyncio.sleep`` so
thousands of pending requests cost only a timer each.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from emulator.conversation import build_reply
from emulator.provider import ProviderFormat, new_id
from emulator.state import EmulatorState, Fault


def api_key_of(request: Request) -> str | None:
    """The key from ``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key`` or ``?key=``."""
    headers = request.headers
    auth = headers.get("authorization")
    if auth and auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return (
        headers.get("x-api-key") or headers.get("x-goog-api-key") or request.query_params.get("key")
    )


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An orjson-encoded response (faster than Starlette's stdlib-json JSONResponse)."""
    return Response(orjson.dumps(data), status, headers, "application/json")


def _retry_after_value(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class ProviderEndpoint:
    """Answers one provider's generation requests against the shared emulator state."""

    def __init__(self, state: EmulatorState, fmt: ProviderFormat) -> None:
        self.state = state
        self.fmt = fmt

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        """A response in the provider's error shape with a request-id header."""
        all_headers = {self.fmt.request_id_header: new_id("req_")}
        if headers:
            all_headers.update(headers)
        return json_response(self.fmt.error_body(status, message), status, all_headers)

    async def handle(self, request: Request, model: str | None, stream: bool | None) -> Response:
        """Serve one request; ``model``/``stream`` come from the path for Gemini, else the body."""
        state = self.state
        raw = await request.body()
        rec = state.record(self.fmt.name, request.url.path, raw, api_key_of(request))
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            state.finish(rec, 400)
            return self.error(400, "Request body must be a JSON object.")
        rec.model = model if model is not None else body.get("model")
        rec.stream = bool(body.get("stream")) if stream is None else stream
        rec.max_tokens = self.fmt.max_tokens(body)
        if rec.api_key is None:
            state.finish(rec, 401)
            return self.error(401, "Missing API key (emulator accepts any non-empty key).")

        fault: Fault | None = state.take_fault(self.fmt.name, raw, body) if state.faults else None
        delay = state.latency_seconds()
        if fault is not None:
            delay += fault.delay_ms / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.status != 200:
            state.finish(rec, fault.status)
            headers = None
            if fault.retry_after is not None:
                headers = {"retry-after": _retry_after_value(fault.retry_after)}
            message = fault.message or f"Emulated fault {fault.id} (HTTP {fault.status})."
            return self.error(fault.status, message, headers)

        try:
            reply = build_reply(self.fmt.parse(body))
        except (AttributeError, TypeError, ValueError) as exc:
            state.finish(rec, 400)
            return self.error(400, f"Malformed request: {exc}")
        rec.input_tokens = reply.input_tokens
        rec.output_tokens = reply.output_tokens
        state.finish(rec, 200)
        model_name = rec.model or "unknown"
        headers = {self.fmt.request_id_header: new_id("req_")}
        if not rec.stream:
            return json_response(self.fmt.render(reply, model_name), 200, headers)
        chunks = self.fmt.stream(reply, model_name, body)
        if request.query_params.get("alt", "sse") != "sse" and stream is not None:
            # Gemini without alt=sse answers one JSON array of the chunk objects.
            array = b"[" + b",".join(c[len(b"data: ") : -2] for c in chunks) + b"]"
            return Response(array, 200, headers, "application/json")
        headers["cache-control"] = "no-cache"
        return StreamingResponse(self._paced(chunks), 200, headers, "text/event-stream")

    async def _paced(self, chunks: list[bytes]) -> AsyncIterator[bytes]:
        """Yield SSE chunks, sleeping ``chunkDelayMs`` between them when configured."""
        for i, chunk in enumerate(chunks):
            if i and self.state.chunk_delay_ms > 0:
                await asyncio.sleep(self.state.chunk_delay_ms / 1000.0)
            yield chunk
