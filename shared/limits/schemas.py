from dataclasses import dataclass

from shared.schemas import CamelModel


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int
    tpm: int
    concurrency: int
    max_queued: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds
    limit: str  # which limit refused, or ""
    requests: int  # in the current window, after this decision
    tokens: int
    running: int
    reset: float  # seconds until the oldest request leaves the window


class LimitUsage(CamelModel):
    limit: int
    remaining: int


class LimitsOut(CamelModel):
    """The caller's limits and what remains of them now."""

    requests_per_minute: LimitUsage
    tokens_per_minute: LimitUsage
    concurrent_jobs: LimitUsage
    queued_jobs: LimitUsage
    reset_seconds: float
