"""The API's own Prometheus metrics (the workers' are in `workers/metrics.py`).

Routes are labelled by their template (`/api/jobs/{job_id}`), never by the raw path, and paths
that match no route share one label, so the number of series stays bounded whatever clients send.
"""

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


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = {"method": method, "route": route, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_DURATION.labels(**labels).observe(seconds)


def record_jobs_accepted(kind: str, count: int = 1) -> None:
    """Count jobs the API accepted: one per execute, a batch's valid items at once."""
    if count > 0:
        JOBS_ACCEPTED.labels(kind=kind).inc(count)
