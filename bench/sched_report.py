"""The page's section on target 6's scheduler traces (bench/sched_trace.py)."""

from typing import Any

from bench.sched_trace import INTERACTIVE_PATH, LONG_WAIT_MS, Waits

LABELS = {
    "api": "API",
    "interactive": "interactive worker",
    "worker": "background worker (batch)",
    "emulator": "emulator",
    "emulator-background": "emulator for the background worker",
    "pg:api": "PostgreSQL for the API",
    "pg:interactive": "PostgreSQL for the interactive worker",
    "pg:worker": "PostgreSQL for the background worker",
    "pg:other": "PostgreSQL, other (WAL writer, checkpointer, ...)",
    "redis": "Redis",
    "load generator, beat": "load generator, beat",
    "kernel, other": "kernel, other",
    "idle": "nothing (CPU idle: wake-up latency)",
}


def _per_request(trace: dict[str, Any], ms: float) -> float:
    waits: Waits = trace["waits"]
    requests = trace["rps"] * waits.seconds
    return ms / requests if requests else float("nan")


def section(traces: dict[str, Any] | None) -> list[str]:
    """Markdown lines, or a line saying why there are none."""
    head = ["## Target 6: where the interactive path waited (perf sched)", ""]
    if not traces:
        return [*head, "Not traced in this run: `perf sched record` is not available here.", ""]
    idle, busy = traces.get("idle"), traces.get("busy")
    if not idle or not busy:
        return [*head, "Not traced in this run: `perf sched record` failed.", ""]
    path = ", ".join(LABELS[name] for name in INTERACTIVE_PATH)
    lines = [
        *head,
        f"One extra run idle and one with the batch draining, each traced for "
        f"{idle['waits'].seconds:.0f} s (not among the measured runs). Waits of the interactive "
        f"path's processes ({path}) between their wake-up and getting a CPU, per request:",
        "",
        "| | idle | with batch |",
        "|---|---|---|",
    ]
    for label, key in (
        ("all waits, ms per request", "delay_ms"),
        (f"waits over {LONG_WAIT_MS:.0f} ms, ms per request", "long_ms"),
    ):
        a, b = (_per_request(t, getattr(t["waits"], key)) for t in (idle, busy))
        lines.append(f"| {label} | {a:.2f} | {b:.2f} |")
    a, b = (_per_request(t, t["waits"].long_waits) for t in (idle, busy))
    lines.append(f"| waits over {LONG_WAIT_MS:.0f} ms, count per request | {a:.3f} | {b:.3f} |")
    lines += [
        "",
        f"What ran on the CPU during the waits over {LONG_WAIT_MS:.0f} ms (ms per request; its "
        "CPU use over the trace in brackets, cores):",
        "",
        "| held the CPU | idle | with batch |",
        "|---|---|---|",
    ]
    held = busy["waits"].held_by + idle["waits"].held_by
    for name, _ in held.most_common():
        cells = []
        for trace in (idle, busy):
            waits: Waits = trace["waits"]
            cores = waits.cpu_ms[name] / (waits.seconds * 1000)
            cells.append(f"{_per_request(trace, waits.held_by[name]):.3f} ({cores:.2f})")
        lines.append(f"| {LABELS.get(name, name)} | {cells[0]} | {cells[1]} |")
    return [*lines, ""]
