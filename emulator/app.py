"""ASGI application wiring: provider routes plus the control API.

Plain Starlette rather than FastAPI: no request models, no OpenAPI, the least work per request.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.anthropic_format import ANTHROPIC
from emulator.control import control_routes
from emulator.gemini_format import GEMINI
from emulator.openai_format import OPENAI
from emulator.pipeline import ProviderEndpoint, json_response
from emulator.state import DEFAULT_MAX_RECORDS, EmulatorState
from emulator.tokens import estimate_tokens

_GEMINI_VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})


def create_app(
    latency_ms: float = 0.0,
    max_records: int = DEFAULT_MAX_RECORDS,
    state: EmulatorState | None = None,
) -> Starlette:
    """Build an emulator app with its own state (exposed as ``app.state.emulator``)."""
    state = state or EmulatorState(latency_ms=latency_ms, max_records=max_records)
    openai = ProviderEndpoint(state, OPENAI)
    anthropic = ProviderEndpoint(state, ANTHROPIC)
    gemini = ProviderEndpoint(state, GEMINI)

    async def chat_completions(request: Request) -> Response:
        return await openai.handle(request, None, None)

    async def messages(request: Request) -> Response:
        return await anthropic.handle(request, None, None)

    async def gemini_models(request: Request) -> Response:
        version = request.path_params["version"]
        model, _, action = request.path_params["target"].rpartition(":")
        if version not in _GEMINI_VERSIONS or not model:
            return gemini.error(404, f"Unknown path {request.url.path}.")
        if action == "generateContent":
            return await gemini.handle(request, model, False)
        if action == "streamGenerateContent":
            return await gemini.handle(request, model, True)
        if action == "countTokens":
            return await count_tokens(request)
        return gemini.error(404, f"Method {action!r} is not emulated.")

    async def count_tokens(request: Request) -> Response:
        """``countTokens`` uses the same estimate as generation, so budgets can be pre-checked."""
        try:
            body = orjson.loads(await request.body())
            if "generateContentRequest" in body:
                body = body["generateContentRequest"]
            conv = GEMINI.parse(body)
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            return gemini.error(400, f"Malformed request: {exc}")
        return json_response({"totalTokens": estimate_tokens(conv.input_chars)})

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/{version}/models/{target}", gemini_models, methods=["POST"]),
        *control_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
