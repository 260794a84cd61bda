"""Target 8's figures (bench/figures.py): judged on the measured runs, the warm-up shown apart."""

from typing import Any

from bench.figures import figures


def _run(p99: float, rps: float = 1_000.0) -> dict[str, Any]:
    return {"p99": p99, "rps": rps, "non2xx": 0}


def _crud(**extra: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [_run(18.0), _run(19.0), _run(21.0)]
    return {"crud": {"list": runs, "list_first": runs, "get": runs, **extra}}


def test_the_warm_up_run_is_reported_but_not_judged() -> None:
    out = figures(_crud(list_warmup=[_run(140.0, rps=700.0)]))
    listing = next(f for f in out if f.title.startswith("CRUD list, pages"))
    assert listing.values == [18.0, 19.0, 21.0]
    assert listing.met is True  # the median of the measured runs, 19 ms
    assert "warm-up run" in listing.note and "p99 140 ms" in listing.note
    assert "700 req/s" in listing.note
    others = [f for f in out if f.target_no == "8" and f is not listing]
    assert len(others) == 2 and not any("warm-up" in f.note for f in others)


def test_results_without_a_warm_up_still_render() -> None:
    out = figures(_crud())
    listing = next(f for f in out if f.title.startswith("CRUD list, pages"))
    assert "warm-up" not in listing.note
