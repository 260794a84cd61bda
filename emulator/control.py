"""The ``/_emulator/`` control API that tests and benchmarks use to script and inspect the emulator.

Inputs are validated by hand (a few fields) to keep this module dependency-free and obvious.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.pipeline import json_response
from emulator.state import EmulatorState

PROVIDERS = frozenset({"openai", "anthropic", "gemini"})


class ControlError(ValueError):
    """A bad control request; answered with 400 and ``{"error": message}``."""


def _number(data: dict[str, Any], key: str, default: float | None) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{key} must be a non-negative number")
    return float(value)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def _fault_spec(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the POST body into :class:`emulator.state.Fault` keyword arguments."""
    match = data.get("match", "")
    if not isinstance(match, str):
        raise ControlError("match must be a string")
    status = data.get("status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ControlError("status must be an HTTP status code (200-599)")
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or (times < 1 and times != -1):
        raise ControlError("times must be a positive integer, or -1 for 'until cleared'")
    provider = data.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise ControlError(f"provider must be one of {sorted(PROVIDERS)}")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise ControlError("message must be a string")
    return {
        "match": match,
        "status": status,
        "times": times,
        "retry_after": _number(data, "retryAfter", None),
        "delay_ms": _number(data, "delayMs", 0.0) or 0.0,
        "provider": provider,
        "message": message,
    }


# A 1x1 transparent PNG.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def control_routes(state: EmulatorState) -> list[Route]:
    """Routes bound to ``state`` (closures avoid per-request app-state lookups)."""

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def list_requests(request: Request) -> Response:
        params = request.query_params
        provider = params.get("provider")
        model = params.get("model")
        contains = params.get("contains")
        records = [
            r
            for r in state.records
            if (provider is None or r.provider == provider)
            and (model is None or r.model == model)
            and (contains is None or r.body_contains(contains))
        ]
        limit = params.get("limit")
        if limit is not None:
            if not limit.isdigit():
                return json_response({"error": "limit must be a non-negative integer"}, 400)
            records = records[-int(limit) :] if int(limit) else []
        return json_response([r.to_json() for r in records])

    async def clear_requests(request: Request) -> Response:
        state.records.clear()
        return json_response({"cleared": True})

    async def get_config(request: Request) -> Response:
        return json_response(state.config_json())

    async def put_config(request: Request) -> Response:
        try:
            data = await _json_object(request)
            latency = _number(data, "latencyMs", state.latency_ms)
            jitter = _number(data, "latencyJitterMs", state.latency_jitter_ms)
            chunk_delay = _number(data, "chunkDelayMs", state.chunk_delay_ms)
            max_records = data.get("maxRecords")
            if max_records is not None and (
                isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
            ):
                raise ControlError("maxRecords must be a positive integer")
        except ControlError as exc:
            return json_response({"error": str(exc)}, 400)
        state.latency_ms = latency or 0.0
        state.latency_jitter_ms = jitter or 0.0
        state.chunk_delay_ms = chunk_delay or 0.0
        if max_records is not None and max_records != state.records.maxlen:
            state.resize_records(max_records)
        return json_response(state.config_json())

    async def list_faults(request: Request) -> Response:
        return json_response([f.to_json() for f in state.faults])

    async def add_fault(request: Request) -> Response:
        try:
            fault = state.add_fault(_fault_spec(await _json_object(request)))
        except ControlError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(fault.to_json(), 201)

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return json_response({"cleared": True})

    async def stats(request: Request) -> Response:
        return json_response(state.stats_json())

    async def reset(request: Request) -> Response:
        state.reset()
        return json_response({"reset": True})

    async def image(request: Request) -> Response:
        """A tiny PNG, for tests of workers that fetch attachment bytes."""
        return Response(TINY_PNG, media_type="image/png")

    return [
        Route("/_emulator/image.png", image, methods=["GET"]),
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/requests", list_requests, methods=["GET"]),
        Route("/_emulator/requests", clear_requests, methods=["DELETE"]),
        Route("/_emulator/config", get_config, methods=["GET"]),
        Route("/_emulator/config", put_config, methods=["PUT"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", add_fault, methods=["POST"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
