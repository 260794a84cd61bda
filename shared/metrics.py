"""Prometheus metrics both sides record, and the registry a scrape reads.

Metric objects are module-level (prometheus-client keeps one registry per process); nothing is
served at import. When one host runs several processes of a kind (`uvicorn --workers N`, a
prefork Celery worker), start them with `PROMETHEUS_MULTIPROC_DIR` pointing at an empty directory:
every process then writes its samples there and a scrape adds them up. The variable must be set
before the process starts (prometheus-client reads it at import).
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, multiprocess

RATE_LIMITED = Counter(
    "assistants_rate_limited_total",
    "Requests refused (or jobs held back) by a per-company limit, by the limit that decided.",
    ["limit"],
)


def record_rate_limited(limit: str) -> None:
    """Count one refusal by a per-company limit (`decision.limit`, e.g. "requests per minute")."""
    RATE_LIMITED.labels(limit=limit or "unknown").inc()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry() -> CollectorRegistry:
    """This process's registry, or in multiprocess mode one that aggregates every process's files."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
