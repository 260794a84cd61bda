"""The API's own Prometheus metrics (the workers' are in `workers/metrics.py`).

Routes are labelled by their template (`/api/jobs/{job_id}`), never by the raw path, and paths
that match no route share one label, so the number of series stays bounded whatever clients send.
"""

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "assistants_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "assistants_http_request_duration_seconds",
    "Time to answer an HTTP request (a synchronous execute includes the wait for its job).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)
HTTP_IN_PROGRESS = Gauge(
    "assistants_http_requests_in_progress",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
JOBS_ACCEPTED = Counter(
    "assistants_jobs_accepted_total",
    "Jobs created by the API (idempotent replays excluded), by kind.",
    ["kind"],
)


# A request's two series, looked up once per label set: `labels()` takes a lock and rebuilds the
# key on every call (12 against 3 µs a request for both, on a 2-core bench machine; the workers'
# metrics do the same). The sets are bounded: methods, route templates and status codes.
@cache
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    labels = {"method": method, "route": route, "status": str(status)}
    return HTTP_REQUESTS.labels(**labels), HTTP_DURATION.labels(**labels)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    requests, duration = _request_series(method, route, status)
    requests.inc()
    duration.observe(seconds)


def record_jobs_accepted(kind: str, count: int = 1) -> None:
    """Count jobs the API accepted: one per execute, a batch's valid items at once."""
    if count > 0:
        JOBS_ACCEPTED.labels(kind=kind).inc(count)
