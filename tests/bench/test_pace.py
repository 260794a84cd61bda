"""The host's pace probes (bench/pace.py), against this run's real Redis and PostgreSQL."""

import math
import os
from pathlib import Path

from bench import pace


def _children() -> set[str]:
    tasks = Path(f"/proc/{os.getpid()}/task")
    return {pid for task in tasks.iterdir() for pid in (task / "children").read_text().split()}


def _plausible(us: float) -> bool:
    """A hop on one host: more than a microsecond, far less than a second."""
    return math.isfinite(us) and 1.0 < us < 100_000.0


def test_the_hops_between_threads_and_processes_are_timed_and_leave_nothing_behind() -> None:
    children_before = _children()
    assert _plausible(pace.threads_us(hops=200))
    assert _plausible(pace.processes_us(hops=200))
    assert _children() == children_before


def test_the_redis_and_postgres_round_trips_are_timed(settings) -> None:  # type: ignore[no-untyped-def]
    assert _plausible(pace.redis_us(settings.redis_url, hops=200))
    assert _plausible(pace.postgres_us(settings.sync_database_url, hops=200))


def test_the_loop_grows_with_its_length(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    short = min(pace.loop_ms() for _ in range(3))
    monkeypatch.setattr(pace, "LOOP_ADDITIONS", pace.LOOP_ADDITIONS * 4)
    long = min(pace.loop_ms() for _ in range(3))
    assert long > 2 * short > 0


def test_the_set_up_line_names_every_probe() -> None:
    line = pace.Pace(
        loop_ms=31.4, threads_us=41.3, processes_us=50.1, redis_us=135.2, postgres_us=88.0
    ).line()
    for shown in ("1,000,000 additions 31 ms", "threads 41 µs", "pipes 50 µs", "redis-py 135 µs"):
        assert shown in line
    assert "asyncpg 88 µs" in line
