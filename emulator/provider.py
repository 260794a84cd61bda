"""The interface every wire-format module implements, and helpers they share.

The request pipeline (auth, faults, latency, recording) is provider-agnostic and talks to the
formats only through :class:`ProviderFormat`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

import orjson

from emulator.conversation import Conversation, Reply


class ProviderFormat(Protocol):
    """One provider's request parsing, response rendering and error shape."""

    name: str
    request_id_header: str

    def parse(self, body: dict[str, Any]) -> Conversation:
        """Reduce a request body to a provider-neutral :class:`Conversation`."""
        ...

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        """The output-token cap the client asked for (recorded only, never enforced)."""
        ...

    def render(self, reply: Reply, model: str) -> dict[str, Any]:
        """A complete non-streaming response body."""
        ...

    def stream(self, reply: Reply, model: str, body: dict[str, Any]) -> list[bytes]:
        """The full SSE stream as encoded chunks (precomputed: replies are small)."""
        ...

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """The provider's JSON error envelope for an HTTP status."""
        ...


def new_id(prefix: str) -> str:
    """A unique, provider-looking id (``chatcmpl-...``, ``toolu_...``)."""
    return prefix + uuid.uuid4().hex[:24]


def now() -> int:
    """Unix time in whole seconds, as OpenAI's ``created`` field."""
    return int(time.time())


def sse(data: Any, event: str | None = None) -> bytes:
    """Encode one server-sent event with a JSON payload."""
    payload = orjson.dumps(data)
    if event is None:
        return b"data: " + payload + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


def joined_text(content: Any, part_type: str = "text") -> str:
    """Text of a message ``content`` that is either a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and p.get("type") == part_type and isinstance(p.get("text"), str)
        )
    return ""
