"""Refuses a NUL character anywhere in the query string before any route runs.

PostgreSQL text cannot hold NUL, so such a value would otherwise reach the driver and fail
there; refusing it up front gives every route the same clear 400 without per-field checks.
(Ids in paths are checked by their services: a malformed id is simply not found.)
"""

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ValidationFailed


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("query_string", b"").lower()
            if b"%00" in raw or b"\x00" in raw:
                await _refuse(send, scope["query_string"].decode("latin-1"))
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, query: str) -> None:
    fields = sorted(
        {name for name, value in parse_qsl(query, keep_blank_values=True) if "\x00" in name + value}
    )
    error = ValidationFailed(
        f"Invalid request: check {', '.join(fields) or 'query'} (NUL characters are not allowed)",
        details=[{"field": name, "message": "must not contain a NUL character"} for name in fields],
    )
    body = orjson.dumps(error.to_body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
