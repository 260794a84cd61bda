import math

from shared.errors import AppError
from shared.limits.schemas import Decision, Limits
from shared.metrics import record_rate_limited


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status_code = 429
    message = "Too many requests"

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


def rate_headers(limits: Limits, decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limits.rpm),
        "X-RateLimit-Remaining": str(max(0, limits.rpm - decision.requests)),
        "X-RateLimit-Reset": str(math.ceil(decision.reset)),
    }


def refused(limits: Limits, decision: Decision) -> RateLimited:
    record_rate_limited(decision.limit)
    headers = rate_headers(limits, decision)
    headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return RateLimited(
        f"Rate limit exceeded: {decision.limit}; retry after {headers['Retry-After']} s", headers
    )


def queue_full(limits: Limits) -> RateLimited:
    record_rate_limited("queued jobs")
    return RateLimited(
        f"Rate limit exceeded: queued jobs (at most {limits.max_queued} may wait at once)",
        {"Retry-After": "60", "X-RateLimit-Limit": str(limits.rpm)},
    )
