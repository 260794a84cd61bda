"""An idle CPU group for background workers that share a machine with interactive work.

Why not nice: with the kernel's autogroups (on by default), PostgreSQL, Redis and our processes
sit in different scheduling groups, and a task's nice value only ranks it inside its own group. A
PostgreSQL backend serving an interactive request that wakes on a core running a batch worker at
nice 19 (or `SCHED_IDLE`) still waits for that core, up to a scheduler tick (4 ms at HZ=250),
and an interactive request makes a dozen such wake-ups. Measured on 2 cores with two CPU
spinners beside the interactive path: PostgreSQL's run-queue wait per request 0.6 ms idle, 6-8
ms with the spinners at nice 19, 1.2-1.5 ms with them in a cgroup with `cpu.idle` set, which
the kernel preempts for any other group's wake-up (docs/benchmarks.md, eleventh run).
"""

import contextlib
import os
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# cgroup v1 mounts the cpu controller on its own; v2 has one unified hierarchy.
CGROUP_MOUNTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))


def join_idle_cpu_group(name: str, mounts: tuple[Path, ...] = CGROUP_MOUNTS) -> Path | None:
    """Move this process (all its threads; children inherit it) into the idle group `name`,
    made if missing. Needs write access to the cgroup tree (root, or a delegated subtree).
    Where that fails the worker runs on at its normal priority and says why, once."""
    reasons = []
    for mount in mounts:
        if not (mount / "cgroup.procs").is_file():
            continue
        group = mount / name
        made = not group.exists()
        try:
            group.mkdir(exist_ok=True)
            _write_existing(group / "cpu.idle", "1")  # missing where the cpu controller is not
            _write_existing(group / "cgroup.procs", str(os.getpid()))
        except OSError as exc:
            reasons.append(f"{exc.filename or group}: {exc.strerror or exc}")
            if made:
                with contextlib.suppress(OSError):
                    group.rmdir()
            continue
        log.info("worker.idle_cpu_group", group=str(group))
        return group
    log.warning(
        "worker.idle_cpu_group_unavailable",
        group=name,
        reasons=reasons or ["no cgroup filesystem mounted"],
        consequence="background work keeps its normal CPU priority",
    )
    return None


def _write_existing(path: Path, value: str) -> None:
    """The kernel makes a group's control files; writing one that is absent must fail rather
    than create a plain file."""
    with open(path, "r+") as control:
        control.write(value)
