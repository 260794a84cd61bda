"""`GET /metrics`: Prometheus text format, outside the published API (no auth, not in OpenAPI).

Serve it to the cluster's Prometheus only: do not route `/metrics` through a public ingress.
"""

from collections.abc import Iterable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.dependencies import StateDep
from shared.metrics import scrape_registry

router = APIRouter(include_in_schema=False)


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def _per_queue(name: str, documentation: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["queue"])
    for queue, value in values.items():
        family.add_metric([queue], value)
    return family


async def _backlog(state: StateDep) -> list[Metric]:
    """The fleet-wide figures for this scrape; a figure that cannot be read is left out."""
    families: list[Metric] = []
    try:
        depths = await state.backlog.depths(state)
    except Exception:  # Redis down: no depth series, which an `absent()` alert catches
        depths = None
    if depths is not None:
        families.append(
            _per_queue(
                "assistants_queue_depth",
                "Messages waiting in each Celery queue's broker list (not yet taken by a worker).",
                depths,
            )
        )
    ages = await state.backlog.oldest_ages(state)
    if ages is not None:
        families.append(
            _per_queue(
                "assistants_queue_oldest_job_age_seconds",
                "How long the oldest queued job of each queue has waited (0 when none waits).",
                ages,
            )
        )
    alive = await state.backlog.workers_alive(state)
    if alive is not None:
        families.append(
            GaugeMetricFamily(
                "assistants_workers_alive",
                "1 when at least one Celery worker answered a ping, else 0.",
                value=1 if alive else 0,
            )
        )
    return families


@router.get("/metrics")
async def metrics(state: StateDep) -> Response:
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(await _backlog(state)))
    body = generate_latest(scrape_registry()) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
