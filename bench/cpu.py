"""CPU time per request, process by process, read from /proc around a load run.

At light load a request's latency is mostly the CPU its path spends, one process after another;
under load on 2 cores, the CPU each request costs sets the rate and so the queueing. The absolute
latency targets (4 and 8) move with the host's speed, so the report shows what they are made of:
per process, in the same run as the bare endpoint's own cost, the same host's yardstick. The rest
of the machine's busy time (load generator, anything else) is shown apart, not guessed.
"""

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# Processes found by command name: all of PostgreSQL's (backends come and go with pools, but
# pooled connections live through a run) and the Redis server.
BY_COMMAND = {"postgres": "PostgreSQL", "redis-server": "Redis"}
REST = "rest of machine"


def _cpu_seconds(pid: int) -> float:
    """User + system time of a process and all its threads (0 once it has exited)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    return 0.0


def _pids_by_command() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {label: [] for label in BY_COMMAND.values()}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                label = BY_COMMAND.get((entry / "comm").read_text().strip())
                if label:
                    found[label].append(int(entry.name))
    return found


def _machine_busy() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICK  # all but idle and iowait


def snapshot(processes: dict[str, Iterable[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds so far, pid by pid, for each named group, PostgreSQL, Redis and the machine."""
    groups = {name: list(pids) for name, pids in processes.items()}
    groups.update(_pids_by_command())
    out = {name: {pid: _cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
    out[REST] = {0: _machine_busy()}
    return out


def per_request(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], requests: int
) -> dict[str, float]:
    """Milliseconds of CPU per request by process; the machine's other busy time as `REST`.

    Deltas are taken pid by pid over the pids alive at the end: a backend that a pool opened
    during the run counts from zero, one that closed during it drops out (its last moments are
    lost, rather than its whole life subtracted from the others).
    """
    if requests <= 0:
        return {}
    ms = {
        name: sum(max(0.0, t - before.get(name, {}).get(pid, 0.0)) for pid, t in pids.items())
        * 1000
        / requests
        for name, pids in after.items()
    }
    ms[REST] = max(0.0, ms[REST] - sum(v for k, v in ms.items() if k != REST))
    return ms
