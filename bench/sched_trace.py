"""Who held the CPU while the interactive path waited for it: `perf sched` during target 6's runs.

Target 6 is decided by run-queue waits, not by our code's CPU time (the interactive processes use
the same CPU per request idle and busy). `perf sched record` logs every context switch; for each
switch-in of a process on the interactive path, the time between its wake-up and its start is its
scheduling delay, and whatever ran on that CPU during the delay is what it waited for. PostgreSQL
backends are attributed to the client process that owns their connection (`ss -tnp`), so the
batch's database work and the interactive path's are told apart.

Optional: without perf (or without the rights to trace the scheduler) the bench says so and goes on.
"""

import bisect
import contextlib
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import ensure_tool

# The processes a synchronous execute passes through (and waits on).
INTERACTIVE_PATH = ("api", "interactive", "pg:api", "pg:interactive", "redis", "emulator")
LONG_WAIT_MS = 1.0
_LINE = re.compile(r"^\s*([\d.]+)\s+\[(\d+)\]\s+(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")
_IDS = re.compile(r"\[(\d+)(?:/(\d+))?\]$")


def ensure_perf() -> str | None:
    """perf's path when it can record scheduler events here (Debian's linux-perf, installed on a
    fresh machine as wrk is)."""
    perf = ensure_tool("perf", "linux-perf")
    if perf is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        probe = subprocess.run(
            [perf, "sched", "record", "-o", f"{tmp}/probe.data", "--", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    return perf if probe.returncode == 0 else None


def pg_backend_clients(db_port: int) -> dict[int, int]:
    """PostgreSQL backend pid -> pid of the client process on the other end of its connection."""
    if not shutil.which("ss"):  # iproute2; without it backends count as "PostgreSQL, other"
        return {}
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=False).stdout
    client_by_port: dict[str, int] = {}
    backend_by_peer: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        found = re.search(r"pid=(\d+)", line)
        if len(parts) < 5 or not found:
            continue
        local, peer, pid = parts[3], parts[4], int(found.group(1))
        if local.endswith(f":{db_port}"):
            backend_by_peer[peer] = pid
        elif peer.endswith(f":{db_port}"):
            client_by_port[local] = pid
    return {
        backend: client_by_port[peer]
        for peer, backend in backend_by_peer.items()
        if peer in client_by_port
    }


def categories(processes: dict[str, int], db_port: int) -> dict[int, str]:
    """pid -> category: our processes by name, their PostgreSQL backends as `pg:<name>`, Redis."""
    by_pid = {pid: name for name, pid in processes.items()}
    out = dict(by_pid)
    for backend, client in pg_backend_clients(db_port).items():
        out[backend] = f"pg:{by_pid.get(client, 'other')}"
    for pid in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if pid.name.isdigit() and (pid / "comm").read_text().strip() == "redis-server":
                out[int(pid.name)] = "redis"
    return out


@dataclass
class Waits:
    """One trace's scheduling delays on the interactive path."""

    seconds: float
    delay_ms: float = 0.0  # all waits of the interactive path's processes
    long_waits: int = 0  # waits over LONG_WAIT_MS
    long_ms: float = 0.0
    # who ran on the CPU during the long waits, ms
    held_by: Counter[str] = field(default_factory=Counter)
    cpu_ms: Counter[str] = field(default_factory=Counter)  # CPU time per category


def _category(comm: str, pid: int, known: dict[int, str]) -> str:
    if pid in known:
        return known[pid]
    if comm == "<idle>":
        return "idle"
    if comm.startswith("postgres"):
        return "pg:other"  # WAL writer, checkpointer, other clients' backends
    if comm.startswith(("python", "celery", "wrk")):
        return "load generator, beat"
    return "kernel, other"


def analyse(perf: str, data: Path, known: dict[int, str], seconds: float) -> Waits:
    timehist = subprocess.run(
        [perf, "sched", "timehist", "-i", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    return attribute(timehist, known, seconds)


def attribute(timehist: str, known: dict[int, str], seconds: float) -> Waits:
    """Each line of `perf sched timehist` is a task switched out: the end of its time on that CPU,
    how long it had waited for the CPU before (sch delay) and how long it ran."""
    runs: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    waits: list[tuple[int, float, float, str]] = []
    result = Waits(seconds)
    for line in timehist.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        end, cpu, task = float(match[1]) * 1000, int(match[2]), match[3]
        delay, ran = float(match[5]), float(match[6])
        ids = _IDS.search(task)
        pid = int(ids[2] or ids[1]) if ids else 0
        category = _category(task.split("[")[0], pid, known)
        runs[cpu].append((end - ran, end, category))
        result.cpu_ms[category] += ran
        if category in INTERACTIVE_PATH and delay > 0:
            waits.append((cpu, end - ran, delay, category))
    ends: dict[int, list[float]] = {}
    for cpu, cpu_runs in runs.items():  # one CPU's runs never overlap: ordered by end as by start
        cpu_runs.sort()
        ends[cpu] = [run_end for _, run_end, _ in cpu_runs]
    for cpu, started, delay, _ in waits:
        result.delay_ms += delay
        if delay <= LONG_WAIT_MS:
            continue
        result.long_waits += 1
        result.long_ms += delay
        cpu_runs = runs[cpu]
        # The first run that ends after the wait began, then on until one starts after it ended.
        for i in range(bisect.bisect_right(ends[cpu], started - delay), len(cpu_runs)):
            run_start, run_end, category = cpu_runs[i]
            if run_start >= started:
                break
            result.held_by[category] += min(run_end, started) - max(run_start, started - delay)
    return result


class Trace:
    """`perf sched record` of the whole machine for a few seconds, started in the background."""

    def __init__(self, perf: str, seconds: float, processes: dict[str, int], db_port: int) -> None:
        self.perf, self.seconds, self.processes = perf, seconds, processes
        self.db_port = db_port
        self.known = categories(processes, db_port)  # taken now: the pools' connections are open
        self._dir = tempfile.TemporaryDirectory(prefix="bench-sched-")
        self.data = Path(self._dir.name) / "sched.data"
        self._proc = subprocess.Popen(
            [perf, "sched", "record", "-a", "-o", str(self.data), "--", "sleep", str(seconds)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def finish(self) -> Waits | None:
        try:
            if self._proc.wait(timeout=self.seconds + 60) != 0:
                return None
            # Connections opened during the trace (a pool's first use) are mapped now.
            known = {**categories(self.processes, self.db_port), **self.known}
            return analyse(self.perf, self.data, known, self.seconds)
        finally:
            self._dir.cleanup()
