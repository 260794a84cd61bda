"""Turns a run's raw results into the figures and the text of docs/benchmarks.md."""

import argparse
import math
from pathlib import Path
from typing import Any

from bench import cpu, pace, sched_report
from bench.report import Figure, fmt, machine, median, render

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"


def _vals(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in runs]


def figures(r: dict[str, Any]) -> list[Figure]:
    out: list[Figure] = []
    base = r.get("http_baselines")
    if base:
        out.append(
            Figure("a", "bare FastAPI endpoint, 64 conns", "req/s", _vals(base["bare"], "rps"))
        )
        out.append(
            Figure("a", "bare FastAPI endpoint p99, 64 conns", "ms", _vals(base["bare"], "p99"))
        )
        out.append(
            Figure(
                "b",
                "naive INSERT + send_task, 64 conns",
                "req/s",
                _vals(base["naive"], "rps"),
                "bare endpoint",
                _vals(base["bare"], "rps"),
            )
        )
        out.append(Figure("b", "naive INSERT + send_task p99", "ms", _vals(base["naive"], "p99")))
    if r.get("noop"):
        out.append(
            Figure(
                "c",
                "no-op Celery drain, 1 worker",
                "tasks/s",
                r["noop"],
                note=(
                    "each run right before a batch run of target 2, so the host's drift hits both"
                    if r.get("noop_paired")
                    else ""
                ),
            )
        )
    if r.get("direct"):
        out.append(Figure("d", "direct SDK call p50, 1 conn", "ms", _vals(r["direct"], "p50")))
        out.append(Figure("d", "direct SDK call p99, 1 conn", "ms", _vals(r["direct"], "p99")))
    if r.get("admission") and base:
        adm = r["admission"]
        rps = _vals(adm, "rps")
        ratio = median(rps) / median(_vals(base["naive"], "rps"))
        out.append(
            Figure(
                "1",
                "async execute admission, 64 conns",
                "req/s",
                rps,
                "naive (b)",
                _vals(base["naive"], "rps"),
                ">= 1.4x naive",
                ratio >= 1.4,
                note=f"non-2xx per run {[x['non2xx'] for x in adm]}, socket errors "
                f"{[x['errors'] for x in adm]}",
            )
        )
        p99 = _vals(adm, "p99")
        out.append(
            Figure(
                "1",
                "async execute admission p99, 64 conns",
                "ms",
                p99,
                "naive (b) p99",
                _vals(base["naive"], "p99"),
                "< 100 ms",
                median(p99) < 100,
            )
        )
    noop = r.get("noop")
    if r.get("async_drain") and noop:
        rates = _vals(r["async_drain"], "rate")
        ratio = median(rates) / median(noop)
        out.append(
            Figure(
                "2",
                "async jobs completed (0 ms provider)",
                "jobs/s",
                rates,
                "no-op drain (c)",
                noop,
                ">= 0.6x no-op",
                ratio >= 0.6,
                note="jobs per run " + str([d["total"] for d in r["async_drain"]]),
            )
        )
    if r.get("batch_drain") and noop:
        rates = _vals(r["batch_drain"], "rate")
        ratio = median(rates) / median(noop)
        out.append(
            Figure(
                "2",
                "batch items completed (0 ms provider)",
                "items/s",
                rates,
                "no-op drain (c)",
                noop,
                ">= 1.0x no-op",
                ratio >= 1.0,
            )
        )
    if r.get("concurrency"):
        rates = _vals(r["concurrency"], "rate")
        out.append(
            Figure(
                "3",
                "items/s at 1 s provider latency, 200 calls in flight",
                "items/s",
                rates,
                "ideal 200/s",
                [200.0],
                ">= 0.9x ideal",
                median(rates) / 200 >= 0.9,
            )
        )
    if r.get("sync") and r.get("direct"):
        over50 = [s["p50"] - d["p50"] for s, d in zip(r["sync"], r["direct"], strict=True)]
        over99 = [s["p99"] - d["p99"] for s, d in zip(r["sync"], r["direct"], strict=True)]
        out.append(
            Figure(
                "4",
                "sync execute p50, 1 conn",
                "ms",
                _vals(r["sync"], "p50"),
                "direct SDK p50 (d)",
                _vals(r["direct"], "p50"),
            )
        )
        out.append(
            Figure(
                "4",
                "sync execute p99, 1 conn",
                "ms",
                _vals(r["sync"], "p99"),
                "direct SDK p99 (d)",
                _vals(r["direct"], "p99"),
            )
        )
        out.append(
            Figure(
                "4",
                "sync overhead over direct SDK, p50",
                "ms",
                over50,
                target="< 10 ms",
                met=median(over50) < 10,
            )
        )
        out.append(
            Figure(
                "4",
                "sync overhead over direct SDK, p99",
                "ms",
                over99,
                target="< 40 ms",
                met=median(over99) < 40,
                note=f"errors per run {[s['errors'] for s in r['sync']]}",
            )
        )
    if r.get("ingest"):
        items = r["plan"].ingest_items
        out.append(
            Figure(
                "5",
                f"batch ingest of {items:,} items (POST to 202)",
                "s",
                r["ingest"],
                target="< 3 s",
                met=median(r["ingest"]) < 3,
            )
        )
    iso = r.get("isolation")
    if iso:
        idle, busy = _vals(iso["idle"], "p99"), _vals(iso["busy"], "p99")
        out.append(
            Figure(
                "6",
                "interactive p99 with 50k batch queued",
                "ms",
                busy,
                "same, idle system",
                idle,
                "<= 1.25x idle",
                median(busy) / median(idle) <= 1.25,
                note="each loaded run right after its idle one, with a fresh 50,000-item batch; "
                f"{iso['done_after_busy']:,} of the last batch's items had finished when its "
                "loaded run ended",
            )
        )
        drain = iso["drain"]
        if noop:
            # The whole drain shares the machine with target 6's interactive load for its first
            # part; the no-op baseline drains alone. Judged: the part that drains alone too.
            out.append(
                Figure(
                    "2",
                    "batch items completed, 50k batch, whole drain (1 run)",
                    "items/s",
                    [drain["rate"]],
                    "no-op drain (c)",
                    noop,
                    note=f"{drain['succeeded']:,}/{drain['total']:,} succeeded "
                    f"(timed out: {drain['timed_out']}); target 6's interactive runs share "
                    "the machine for its first part, so not judged",
                )
            )
            alone = drain.get("alone")
            if alone:
                out.append(
                    Figure(
                        "2",
                        "batch items completed, 50k batch, after the interactive runs",
                        "items/s",
                        [alone["rate"]],
                        "no-op drain (c)",
                        noop,
                        ">= 1.0x no-op",
                        alone["rate"] / median(noop) >= 1.0,
                        note=f"{alone['succeeded']:,} items in the last "
                        f"{alone['span']:.1f} s of the drain, nothing else running",
                    )
                )
        s, m, e = iso["rss"]
        out.append(
            Figure(
                "mem",
                "worker RSS: idle -> 50k run start -> end",
                "MiB",
                [e],
                target="flat",
                met=None if drain["timed_out"] or math.isnan(e) else (e - m) < 0.2 * m,
                note=f"{s:.0f} MiB idle before, {m:.0f} MiB 2 s into the first 50k batch, "
                f"{e:.0f} MiB at the end of the last; {iso['jobs_run']:,} jobs ran (the last "
                f"batch's {drain['succeeded']:,} and the earlier batches' until cancelled)"
                + (
                    " (the run did not finish: flatness over 50,000 jobs is not shown)"
                    if drain["timed_out"]
                    else "; met = growth under a fifth of the start"
                ),
            )
        )
    lim = r.get("limits")
    if lim:
        rpm = r["limits_rpm"]
        out.append(
            Figure(
                "7",
                f"busiest {5}-s window, limit {rpm}/window (5x backlog)",
                "starts",
                [lim["worst_window"]],
                "limit",
                [float(rpm)],
                "<= limit",
                lim["worst_window"] <= rpm,
            )
        )
        out.append(
            Figure(
                "7",
                "achieved rate over 3 windows",
                "x limit",
                [lim["achieved"]],
                target=">= 0.95",
                met=lim["achieved"] >= 0.95,
                note="1 run (each run costs 3 limiter windows)",
            )
        )
    crud = r.get("crud")
    if crud:
        bare16 = _vals(base["bare16"], "p99") if base else []
        for key, title in (
            ("list", "list, pages 1..last, 3 sorts x 2 orders"),
            ("list_first", "list, first page, any sort"),
            ("get", "get by id"),
        ):
            p99 = _vals(crud[key], "p99")
            out.append(
                Figure(
                    "8",
                    f"CRUD {title}, p99 at 16 conns",
                    "ms",
                    p99,
                    "bare endpoint p99, 16 conns",
                    bare16,
                    "< 20 ms",
                    median(p99) < 20,
                    note=f"{fmt(median(_vals(crud[key], 'rps')))} req/s; non-2xx "
                    f"{[x['non2xx'] for x in crud[key]]}"
                    + (_warmup_note(crud) if key == "list" else ""),
                )
            )
    return out


def _warmup_note(crud: dict[str, Any]) -> str:
    """The uncounted first run over all pages, while the API loads the sorts' orders."""
    if not crud.get("list_warmup"):
        return ""
    warm = crud["list_warmup"][0]
    return (
        f"; after a warm-up run over the same pages, not counted (the API process loads each "
        f"sort's order for the deep pages during it): {fmt(warm['rps'])} req/s, "
        f"p99 {fmt(warm['p99'])} ms"
    )


CPU_ROWS = (  # (results key, sub-key or None, what the row is)
    ("http_baselines", "bare16", "a: bare endpoint, 16 conns"),
    ("http_baselines", "naive", "b: naive INSERT + send_task, 64 conns"),
    ("direct", None, "d: direct SDK call, 1 conn"),
    ("sync", None, "4: sync execute, 1 conn"),
    ("crud", "list", "8: CRUD list, 16 conns"),
    ("crud", "list_first", "8: CRUD list first pages, 16 conns"),
    ("crud", "get", "8: CRUD get, 16 conns"),
)


def cpu_section(r: dict[str, Any]) -> list[str]:
    """Where each request's CPU went, by process: what the latency targets are made of."""
    rows: list[tuple[str, list[dict[str, Any]]]] = []
    for key, sub, title in CPU_ROWS:
        runs = r.get(key) or []
        if sub is not None:
            runs = runs.get(sub, []) if isinstance(runs, dict) else []
        runs = [run for run in runs if run.get("cpu")]
        if runs:
            rows.append((title, runs))
    if not rows:
        return []
    columns = list(dict.fromkeys(name for _, runs in rows for run in runs for name in run["cpu"]))
    columns = [c for c in columns if c != cpu.REST] + [cpu.REST]
    lines = [
        "## CPU per request, by process",
        "",
        "Milliseconds of CPU (user + system, all threads, from /proc) each process spent per "
        "request during the runs of a figure, median of the runs; `rest of machine` is the "
        "machine's other busy time (load generator, anything else). At one connection a "
        "request's path runs mostly one process after another, so its latency is about the CPU "
        "on the path; at 16 or 64 connections on 2 cores the CPU per request sets the rate, and "
        "the rate the queueing. The one-connection rows' `rest of machine` holds the Python load "
        "generator, start-up included (a few hundred requests per run). bench/cpu.py.",
        "",
        "| run | p50 / p99 ms | " + " | ".join(columns) + " | total |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    for title, runs in rows:
        cells = [median([run["cpu"].get(c, float("nan")) for run in runs]) for c in columns]
        total = median([sum(run["cpu"].values()) for run in runs])
        latency = f"{fmt(median(_vals(runs, 'p50')))} / {fmt(median(_vals(runs, 'p99')))}"
        lines.append(
            f"| {title} | {latency} | "
            + " | ".join("-" if math.isnan(v) else f"{v:.2f}" for v in cells)
            + f" | {total:.2f} |"
        )
    return [*lines, ""]


def _group_members(r: dict[str, Any]) -> str:
    """What shared the background worker's idle group during target 6, as counted there."""
    members = (r.get("isolation") or {}).get("background_group")
    if not members:
        return "its emulator and its PostgreSQL backends (not counted in this run)"
    counted = ", ".join(f"{n} {c}" for c, n in sorted(members.items()))
    return (
        "its PostgreSQL backends (WORKER_IDLE_CPU_GROUP_INCLUDES_DATABASE) and its emulator "
        f"(in the group during target 6: {counted} processes)"
    )


def build(r: dict[str, Any], args: argparse.Namespace) -> str:
    plan = r["plan"]
    command = "make bench" + (" (bench/run.py " + " ".join(r["argv"]) + ")" if r["argv"] else "")
    header = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run.py); the analysis at the end is bench/analysis.md.",
        "Every figure is the median of the runs [min-max], compared with a baseline measured in "
        "the same run on the same machine (absolute numbers drift on these shared machines).",
        "",
        "## Set-up",
        "",
        *machine(),
        *([r["pace"].line()] if r.get("pace") else []),
        *(
            [pace.steal_line(r["cpu_times"], r["cpu_times_end"])]
            if r.get("cpu_times") and r.get("cpu_times_end")
            else []
        ),
        f"- PostgreSQL server {r.get('server_version', 'n/a')}, autovacuum "
        f"{r.get('autovacuum', 'n/a')} (off slows long drains: see docs/operations.md)",
        f"- Command: `{command}`; took {r['elapsed']:.0f} s; load generator: {r['tool']} "
        "(light-load latency always by bench/loadgen.py, the same client for product and "
        "baseline)",
        f"- Plan: {plan.runs} runs per figure, {plan.duration:.0f} s per HTTP load run, "
        f"{plan.noop_tasks:,} no-op tasks, {plan.pipeline_batch:,}-item pipeline batches, "
        f"{plan.concurrency_items:,} items at 1 s latency, {plan.light_requests} requests per "
        f"light-load run ({plan.isolation_requests} for target 6, idle and loaded runs in turn), "
        f"{plan.ingest_items:,}-item ingest, {plan.crud_assistants:,} assistants "
        "(seeded by SQL, then VACUUM ANALYZE, as autovacuum leaves a table; one uncounted "
        "warm-up run over the list pages before target 8's runs)",
        "- System under test: 1 uvicorn process (API), 2 Celery workers (threads pool): the "
        "interactive worker (synchronous execute, 50 threads) and the background worker (200), "
        "beat; two emulator processes as the providers, one for the interactive worker (and "
        "target 4's direct calls), one for the background worker; WORKER_MAX_CALLS=200 (provider calls in flight), DISPATCH_MAX_IN_FLIGHT=240 (jobs handed out), WORKER_CONCURRENCY=50, WORKER_DATABASE_POOL_SIZE=10 (a worker's connections: 10 of asyncpg's for claims and outcomes, 5+5 of SQLAlchemy's for the rest), LOG_LEVEL=WARNING, "
        "LIMIT_WINDOW_SECONDS=5 (the limiter's 'minute' is 5 s for target 7; every other company "
        "has limits far above the load), LIMIT_WINDOW_MARGIN_SECONDS=0.3, "
        "LIMIT_CLOCK_SKEW_SECONDS=0.05 (one host, one clock). All on the same 2 cores as the "
        "load generator.",
        "- The background worker's CPU priority: "
        + (
            "an idle CPU group (WORKER_IDLE_CPU_GROUP, `cpu.idle`), with " + _group_members(r)
            if r.get("background_idle_group")
            else "nice 10 only (no writable cgroup tree here: target 6 is measured without "
            "the idle CPU group)"
        )
        + "; the interactive worker, the API, their PostgreSQL backends, Redis and the "
        "interactive worker's emulator at normal priority.",
    ]
    if r.get("error"):
        header += ["", f"**The run stopped early:** `{r['error']}`; figures below are partial."]
    sections = []
    if cpu_lines := cpu_section(r):
        sections.append("\n".join(cpu_lines))
    if r.get("isolation"):
        sections.append("\n".join(sched_report.section(r["isolation"].get("traces"))))
    if ANALYSIS.exists():
        sections.append(ANALYSIS.read_text())
    return render(figures(r), header, sections)
