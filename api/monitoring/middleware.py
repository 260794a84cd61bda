"""Every request gets an id, a metrics sample and one access log line.

The id is the caller's `X-Request-Id` when it is a plausible id (1-64 of `A-Za-z0-9._-`),
otherwise a fresh one; it is bound to the log context of everything the request logs, echoed
in the response's `X-Request-Id`, stored on the jobs the request creates (so the worker logs it
too), and kept in `request.state.request_id`.

The access line names the route template, never the raw path or query, and no header: user
input, API keys and prompts never reach the log. Probes and scrapes (`/healthz`, `/readyz`,
`/metrics`) are logged at DEBUG when they succeed, so they do not drown the rest.
"""

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.monitoring.metrics import HTTP_IN_PROGRESS, UNMATCHED_ROUTE, observe_request

HEADER = "x-request-id"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = structlog.get_logger("api.access")


def inbound_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _VALID_ID.fullmatch(candidate) else None
    return None


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class RequestContext:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming responses and context vars pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = inbound_request_id(scope) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500  # what the client gets if the app fails before answering
        id_header = (HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        started = time.perf_counter()
        HTTP_IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_IN_PROGRESS.dec()
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_of(scope)
            observe_request(method, route, status, seconds)
            quiet = route in _QUIET_ROUTES and status < 400
            (access_log.debug if quiet else access_log.info)(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                request_id=request_id,
                company_id=state.get("company_id"),
            )
            structlog.contextvars.clear_contextvars()
