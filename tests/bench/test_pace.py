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


def test_loops_at_once_each_run_in_their_own_process_and_leave_nothing_behind() -> None:
    children_before = _children()
    alone = pace.loops_at_once(1, additions=200_000)
    together = pace.loops_at_once(2, additions=200_000)
    longer = pace.loops_at_once(1, additions=2_000_000)
    assert alone > 0 and together > 0
    assert longer > 2 * alone  # the children time their loops, not their start
    assert _children() == children_before


def test_steal_is_the_stolen_share_of_the_machines_cpu_time() -> None:
    before = pace.CpuTimes.read()
    after = pace.CpuTimes.read()
    assert 0 <= before.stolen <= before.total <= after.total
    line = pace.steal_line(pace.CpuTimes(stolen=10, total=1_000), pace.CpuTimes(30, 3_000))
    assert "1.0% of its cores' time" in line
    assert "0.0%" in pace.steal_line(before, before)  # no time passed: nothing to divide


def test_the_redis_and_postgres_round_trips_are_timed(settings) -> None:  # type: ignore[no-untyped-def]
    assert _plausible(pace.redis_us(settings.redis_url, hops=200))
    assert _plausible(pace.postgres_us(settings.sync_database_url, hops=200))


def test_the_loop_grows_with_its_length(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    short = min(pace.loop_ms() for _ in range(3))
    monkeypatch.setattr(pace, "LOOP_ADDITIONS", pace.LOOP_ADDITIONS * 4)
    long = min(pace.loop_ms() for _ in range(3))
    assert long > 2 * short > 0


def test_the_cycle_visits_every_slot_once_and_its_steps_are_timed() -> None:
    next_slot = pace.cycle(1_000)
    seen, slot = set(), 0
    for _ in range(1_000):
        seen.add(slot)
        slot = next_slot[slot]
    assert slot == 0 and len(seen) == 1_000  # one cycle, not several small ones
    assert pace.cycle(1_000) == next_slot  # the same walk on every machine
    assert 0.1 < pace.chase_ns(next_slot, steps=10_000) < 1_000_000


def test_the_set_up_line_names_every_probe() -> None:
    line = pace.Pace(
        loop_ms=31.4,
        threads_us=41.3,
        processes_us=50.1,
        redis_us=135.2,
        postgres_us=88.0,
        both_cores=1.234,
        chase_ns=351.6,
    ).line()
    for shown in ("1,000,000 additions 31 ms", "threads 41 µs", "pipes 50 µs", "redis-py 135 µs"):
        assert shown in line
    assert "asyncpg 88 µs" in line
    assert "1.23x the time of one alone" in line
    assert "(about 40 MB: most steps miss the cache) 352 ns" in line
