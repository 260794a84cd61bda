"""The workers' Prometheus metrics, the helpers the pipeline calls, and the worker's exporter.

A worker runs Celery's threads pool in one process, so one exporter per worker process
(`WORKER_METRICS_PORT`, started when the worker is ready) sees every job it runs; scrape each
worker. A prefork worker (or several worker processes on one host) must run with
`PROMETHEUS_MULTIPROC_DIR` set: the children then write their samples to that directory and the
exporter, started in the parent, serves their sum.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from shared.jobs.lifecycle import ClaimedJob, Outcome
from shared.metrics import scrape_registry
from workers.providers.base import ProviderCallError, ProviderReply

logger = structlog.get_logger(__name__)

JOBS_FINISHED = Counter(
    "assistants_jobs_finished_total",
    "Jobs that ended on this worker, by kind, status (succeeded/failed) and error code.",
    ["kind", "status", "error_code"],
)
PROVIDER_DURATION = Histogram(
    "assistants_provider_request_duration_seconds",
    "Duration of each provider call attempt, by provider, model and outcome (ok/error).",
    ["provider", "model", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
PROVIDER_TOKENS = Counter(
    "assistants_provider_tokens_total",
    "Tokens reported by the providers, by provider, model and direction (input/output).",
    ["provider", "model", "direction"],
)
PROVIDER_RETRIES = Counter(
    "assistants_provider_retries_total",
    "Provider call attempts that failed and will be retried, by provider and error code.",
    ["provider", "code"],
)
UNWRITTEN_JOB_WAITS = Counter(
    "assistants_unwritten_job_waits_total",
    "Synchronous jobs whose message came before their row was committed, by how the wait ended:"
    " claimed, not_claimable (there, but taken or cancelled), dropped (never came).",
    ["outcome"],
)
PROVIDER_IN_FLIGHT = Gauge(
    "assistants_provider_calls_in_flight",
    "Provider calls waiting for an answer now, by provider.",
    ["provider"],
    multiprocess_mode="livesum",
)


# The labelled series of the per-call metrics, looked up once per label set: `labels()` takes a
# lock and rebuilds the key on every call, five times per job (3% of a worker's CPU in a batch
# drain, py-spy). Label sets are bounded: providers and models come from the catalogue.
@cache
def _in_flight(provider: str) -> Gauge:
    return PROVIDER_IN_FLIGHT.labels(provider)


@cache
def _duration(provider: str, model: str, outcome: str) -> Histogram:
    return PROVIDER_DURATION.labels(provider, model, outcome)


@cache
def _tokens(provider: str, model: str, direction: str) -> Counter:
    return PROVIDER_TOKENS.labels(provider, model, direction)


@cache
def _finished(kind: str, status: str, error_code: str) -> Counter:
    return JOBS_FINISHED.labels(kind, status, error_code)


@contextmanager
def provider_call(provider: str, model: str) -> Iterator[None]:
    """Time one attempt and count it as in flight while it runs."""
    in_flight = _in_flight(provider)
    in_flight.inc()
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        in_flight.dec()
        _duration(provider, model, outcome).observe(time.perf_counter() - started)


def record_tokens(provider: str, model: str, reply: ProviderReply) -> None:
    _tokens(provider, model, "input").inc(max(0, reply.input_tokens))
    _tokens(provider, model, "output").inc(max(0, reply.output_tokens))


def record_retry(provider: str, error: BaseException | None, attempt: int, wait: float) -> None:
    """Count (and log) an attempt that failed and is about to be retried."""
    code = error.code if isinstance(error, ProviderCallError) else type(error).__name__
    PROVIDER_RETRIES.labels(provider=provider, code=code).inc()
    logger.info(
        "provider call failed; retrying",
        provider=provider,
        code=code,
        attempt=attempt,
        wait_s=round(wait, 3),
    )


def record_job_finished(job: ClaimedJob, outcome: Outcome) -> None:
    """Count (and log) a job's outcome, once: only the holder of the claim gets here."""
    _finished(job.kind, outcome.status, outcome.error_code or "").inc()
    logger.info(
        "job finished",
        kind=job.kind,
        provider=job.provider,
        model=job.model,
        status=outcome.status,
        error_code=outcome.error_code,
        latency_ms=outcome.latency_ms,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
    )


def record_unwritten_job_wait(outcome: str, job_id: str) -> None:
    """Count how a claim's wait for a job's row ended (and log a dropped message)."""
    UNWRITTEN_JOB_WAITS.labels(outcome).inc()
    if outcome == "dropped":
        logger.warning("job not written in time; its message is dropped", job_id=job_id)


def start_exporter(port: int, address: str) -> bool:
    """Serve this process's metrics on `address:port`; False (logged, not raised) if it cannot.

    A worker that cannot bind its metrics port still runs jobs: losing a scrape target is better
    than losing a worker (the `up` series of that target shows the problem).
    """
    if port <= 0:
        return False
    try:
        start_http_server(port, addr=address, registry=scrape_registry())
    except OSError as exc:
        logger.warning("worker metrics exporter not started", port=port, error=str(exc))
        return False
    logger.info("worker metrics exporter listening", address=address, port=port)
    return True
