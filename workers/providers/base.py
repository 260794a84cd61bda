"""What every provider adapter takes and returns, and how provider failures are classified.

Adapters turn our neutral conversation into each SDK's request and back. The SDKs' own retries
are switched off: the task retries in one place (`workers/jobs/calls.py`), so every attempt is
visible to our rate limiter and to the job's `attempts`.
"""

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)  # {"url", "mimeType", "data"?}
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "arguments"}
    tool_results: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"toolCallId", "name", "output"}


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    model: str
    system: str | None
    turns: list[Turn]
    max_tokens: int
    tools: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"name", "description", "parameters"}
    idempotency_key: str | None = None  # the job's id: the same for every attempt of a job


@dataclass(frozen=True, slots=True)
class ProviderReply:
    text: str
    tool_calls: list[dict[str, Any]]
    input_tokens: int
    output_tokens: int


class ProviderCallError(Exception):
    """A failed provider call: `retryable` for 429, 5xx, timeouts and connection errors."""

    def __init__(
        self, code: str, message: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class Provider(Protocol):
    name: str
    needs_image_bytes: bool

    async def complete(self, request: ProviderRequest) -> ProviderReply: ...


_SECRET_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|ak_[A-Za-z0-9_\-]{6,}|AIza[0-9A-Za-z_\-]{10,}|(?i:bearer)\s+\S+)"
)


def redact(message: str, secrets: list[str | None]) -> str:
    """The provider's message minus anything that looks like a key (ours or a provider's)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    return _SECRET_PATTERNS.sub("[redacted]", message)[:1000]


def _non_negative(value: str, scale: float = 1.0) -> float | None:
    """A finite number of seconds >= 0, or None: `inf` or `nan` must never become a sleep."""
    try:
        seconds = float(value) * scale
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_seconds(headers: Any) -> float | None:
    """`retry-after-ms`, then `retry-after` (seconds or an HTTP date), as the SDKs read them."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None and (
        seconds := _non_negative(ms, 1 / 1000)
    ) is not None:
        return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    if (seconds := _non_negative(value)) is not None:
        return seconds
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000": a UTC time of unknown origin
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())


def classify_status(status: int, message: str, retry_after: float | None) -> ProviderCallError:
    if status == 429:
        return ProviderCallError(
            "PROVIDER_RATE_LIMITED", message, retryable=True, retry_after=retry_after
        )
    if status == 408:
        return ProviderCallError(
            "PROVIDER_TIMEOUT", message, retryable=True, retry_after=retry_after
        )
    if status >= 500:
        return ProviderCallError(
            "PROVIDER_UNAVAILABLE", message, retryable=True, retry_after=retry_after
        )
    return ProviderCallError("PROVIDER_ERROR", message, retryable=False)


TIMED_OUT = "The provider did not answer in time"
UNREACHABLE = "Could not reach the provider"


@contextmanager
def malformed_reply(provider: str) -> Iterator[None]:
    """Reading a reply's wire format: a field missing or of the wrong type fails the call (no
    retry: the same request would get the same reply) rather than the worker."""
    try:
        yield
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise ProviderCallError(
            "PROVIDER_ERROR",
            f"{provider} returned a malformed reply ({type(exc).__name__})",
            retryable=False,
        ) from exc


def stainless_options(request: ProviderRequest, **options: Any) -> Any:
    """The per-call options of the openai and anthropic SDKs' `post`, with the request's
    idempotency key. Without one, both SDKs draw a `uuid4` on every call for a header their
    clients do not send (no `_idempotency_header`): 4-5% of a worker's event loop in a batch drain
    (py-spy); with the job's id, the worker's CPU per batch item fell from 0.44-0.50 to 0.41-0.49 ms
    (medians 0.476 and 0.438, six drains each). Were the header sent, it would carry the job's id
    for each attempt, as the SDKs reuse their own key across their retries."""
    if request.idempotency_key is not None:
        options["idempotency_key"] = request.idempotency_key
    return options


@contextmanager
def stainless_errors(sdk: ModuleType, provider: str, key: str) -> Iterator[None]:
    """Translate the errors of the openai and anthropic SDKs, which share their error classes'
    names and fields (both are generated by Stainless), into our classification."""
    try:
        yield
    except sdk.APITimeoutError as exc:
        raise ProviderCallError("PROVIDER_TIMEOUT", TIMED_OUT, retryable=True) from exc
    except sdk.APIConnectionError as exc:
        raise ProviderCallError("PROVIDER_UNAVAILABLE", UNREACHABLE, retryable=True) from exc
    except sdk.APIStatusError as exc:
        message = redact(f"{provider}: {exc.message}", [key])
        raise classify_status(
            exc.status_code, message, retry_after_seconds(exc.response.headers)
        ) from exc
