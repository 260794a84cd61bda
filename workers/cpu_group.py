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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

# cgroup v1 mounts the cpu controller on its own; v2 has one unified hierarchy.
CGROUP_MOUNTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))


def join_idle_cpu_group(
    name: str, mounts: tuple[Path, ...] = CGROUP_MOUNTS, pid: int | None = None
) -> Path | None:
    """Move this process, or `pid`, (all its threads; children inherit it) into the idle group
    `name`, made if missing. Needs write access to the cgroup tree (root, or a delegated subtree).
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
            _write_existing(group / "cgroup.procs", str(pid or os.getpid()))
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


# The backend's process id and the two ends of its TCP connection as the server sees them (no
# port for a Unix-socket connection).
_BACKEND = "SELECT pg_backend_pid(), inet_server_port(), inet_client_port()"


def include_database_backends(engine: AsyncEngine, group: Path) -> None:
    """Each PostgreSQL backend this engine connects to joins `group` too, when it runs on this
    host and may be moved.

    Why: a backend does the database's half of the background work, and PostgreSQL puts every
    backend in a scheduling group of its own (`setsid`, autogroups), which weighs as much as the
    API and the interactive worker together. With a batch draining beside interactive requests on
    2 cores, the batch's backends were what held the CPU for most of the interactive path's waits
    over 1 ms (docs/benchmarks.md, "Target 6"). A backend is moved only after its pid is proven to
    be this connection's peer here (it owns the socket of this connection's two ports); a
    database on another host, a Unix socket or a refusal leaves it where it is, said once.
    """
    warn = _warn_once(group)

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        pid, server_port, client_port = dbapi_connection.run_async(
            lambda connection: connection.fetchrow(_BACKEND)
        )
        warn(_move_backend(group, pid, server_port, client_port))


def database_backend_joiner(group: Path) -> Callable[[Any], Awaitable[None]]:
    """`include_database_backends` for asyncpg's own pool: its `init`, run on each new
    connection."""
    warn = _warn_once(group)

    async def join(connection: Any) -> None:
        pid, server_port, client_port = await connection.fetchrow(_BACKEND)
        warn(_move_backend(group, pid, server_port, client_port))

    return join


def _warn_once(group: Path) -> Callable[[str], None]:
    """A pool's backends that can't join the group are said once, with the first reason."""
    warned: list[str] = []

    def warn(reason: str) -> None:
        if reason and not warned:
            warned.append(reason)
            log.warning(
                "worker.database_backends_not_in_idle_cpu_group",
                group=str(group),
                reason=reason,
                consequence="the database's share of background work keeps its normal priority",
            )

    return warn


def _move_backend(group: Path, pid: int, server_port: int | None, client_port: int | None) -> str:
    """'' once the backend is in the group, else why not."""
    if server_port is None or client_port is None:
        return "connected through a Unix socket: the backend can't be matched to a process"
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError as exc:
        return f"backend {pid} is not a process here or can't be inspected ({exc.strerror})"
    sockets = set()
    for fd in descriptors:
        with contextlib.suppress(OSError):  # closed meanwhile
            sockets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    if not any(f"socket:[{inode}]" in sockets for inode in _tcp_inodes(server_port, client_port)):
        return f"backend {pid} does not hold this connection here: the database runs elsewhere"
    try:
        _write_existing(group / "cgroup.procs", str(pid))
    except OSError as exc:
        return f"{group}: {exc.strerror or exc}"
    return ""


def _tcp_inodes(local_port: int, remote_port: int) -> set[str]:
    """Socket inodes of this host's TCP connections between these ports (IPv4 and IPv6)."""
    wanted = (f"{local_port:04X}", f"{remote_port:04X}")
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)  # the header
            for line in lines:
                fields = line.split()
                ports = (fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1])
                if ports == wanted:
                    inodes.add(fields[9])
    return inodes
