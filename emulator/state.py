"""In-memory emulator state: request record, fault queue and latency settings.

Everything runs on one event loop, so no locks are needed. The record is a bounded deque of
slotted objects holding the raw body bytes (parsed only when someone reads the record), which keeps
recording cheap enough for benchmarks at thousands of requests per second.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_MAX_RECORDS = 200_000


@dataclass(slots=True)
class Fault:
    """A scripted failure (or delay) for the next ``times`` requests whose body contains ``match``."""

    id: int
    match: str
    status: int
    times: int  # remaining uses; -1 means until cleared
    retry_after: float | None = None
    delay_ms: float = 0.0
    provider: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The control-API view of the fault."""
        return {
            "id": self.id,
            "match": self.match,
            "status": self.status,
            "times": self.times,
            "retryAfter": self.retry_after,
            "delayMs": self.delay_ms,
            "provider": self.provider,
            "message": self.message,
        }


class RequestRecord:
    """One provider request as received, completed with its outcome once answered."""

    __slots__ = (
        "api_key",
        "body",
        "id",
        "input_tokens",
        "max_tokens",
        "model",
        "output_tokens",
        "path",
        "provider",
        "received_at",
        "status",
        "stream",
    )

    def __init__(self, rid: int, provider: str, path: str, body: bytes, api_key: str | None):
        self.id = rid
        self.provider = provider
        self.path = path
        self.body = body
        self.api_key = api_key[-4:] if api_key else None
        self.received_at = time.time()
        self.model: str | None = None
        self.status: int | None = None
        self.stream = False
        self.max_tokens: int | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def body_contains(self, needle: str) -> bool:
        """Substring test on the raw body, falling back to compact JSON (SDKs differ in spacing
        and in escaping non-ASCII, e.g. google-genai sends ``", "`` and ``\\u00e9``)."""
        return body_contains(self.body, needle)

    def to_json(self) -> dict[str, Any]:
        """The control-API view; the body is parsed here, not on the hot path."""
        try:
            body: Any = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            body = self.body.decode("utf-8", "replace")
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "path": self.path,
            "receivedAt": self.received_at,
            "apiKey": self.api_key,
            "body": body,
            "status": self.status,
            "stream": self.stream,
            "maxTokens": self.max_tokens,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
        }


def body_contains(raw: bytes, needle: str, parsed: Any = None) -> bool:
    """True if ``needle`` occurs in the raw JSON body or in its compact orjson re-serialization."""
    encoded = needle.encode()
    if encoded in raw:
        return True
    if parsed is None:
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False
    return encoded in orjson.dumps(parsed)


class EmulatorState:
    """All mutable emulator state, owned by one app instance."""

    def __init__(self, latency_ms: float = 0.0, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.records: deque[RequestRecord] = deque(maxlen=max_records)
        self.faults: list[Fault] = []
        self.latency_ms = latency_ms
        self.latency_jitter_ms = 0.0
        self.chunk_delay_ms = 0.0
        self.status_counts: Counter[tuple[str, int]] = Counter()
        self.total_requests = 0
        self._next_record_id = 1
        self._next_fault_id = 1

    def record(self, provider: str, path: str, body: bytes, api_key: str | None) -> RequestRecord:
        """Append a new record (the oldest falls off when the deque is full)."""
        rec = RequestRecord(self._next_record_id, provider, path, body, api_key)
        self._next_record_id += 1
        self.total_requests += 1
        self.records.append(rec)
        return rec

    def finish(self, rec: RequestRecord, status: int) -> None:
        """Set the answered status and count it for ``/_emulator/stats``."""
        rec.status = status
        self.status_counts[(rec.provider, status)] += 1

    def add_fault(self, fault_spec: dict[str, Any]) -> Fault:
        """Register a fault; faults are consulted in registration order."""
        fault = Fault(id=self._next_fault_id, **fault_spec)
        self._next_fault_id += 1
        self.faults.append(fault)
        return fault

    def take_fault(self, provider: str, raw: bytes, parsed: Any) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        for fault in self.faults:
            if fault.provider is not None and fault.provider != provider:
                continue
            if not body_contains(raw, fault.match, parsed):
                continue
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
            return fault
        return None

    def latency_seconds(self) -> float:
        """Global latency plus uniform jitter in [0, jitter], in seconds."""
        ms = self.latency_ms
        if self.latency_jitter_ms:
            ms += random.uniform(0.0, self.latency_jitter_ms)
        return ms / 1000.0

    def config_json(self) -> dict[str, Any]:
        """The control-API view of the settings."""
        return {
            "latencyMs": self.latency_ms,
            "latencyJitterMs": self.latency_jitter_ms,
            "chunkDelayMs": self.chunk_delay_ms,
            "maxRecords": self.records.maxlen,
        }

    def resize_records(self, max_records: int) -> None:
        """Change the record bound, keeping the newest entries."""
        self.records = deque(self.records, maxlen=max_records)

    def stats_json(self) -> dict[str, Any]:
        """Cheap counters for benchmarks (no need to download the whole record)."""
        by_provider: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for (provider, status), n in self.status_counts.items():
            by_provider[provider] += n
            by_status[str(status)] += n
        return {
            "totalRequests": self.total_requests,
            "answered": sum(self.status_counts.values()),
            "recorded": len(self.records),
            "byProvider": dict(by_provider),
            "byStatus": dict(by_status),
            "pendingFaults": len(self.faults),
        }

    def reset(self) -> None:
        """Forget records, faults and counters and zero the latency settings."""
        self.records.clear()
        self.faults.clear()
        self.status_counts.clear()
        self.total_requests = 0
        self.latency_ms = self.latency_jitter_ms = self.chunk_delay_ms = 0.0
