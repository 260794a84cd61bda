"""Background workers join an idle CPU group: on this machine for real, elsewhere they say why not."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared.config import Settings
from shared.db import create_driver_pool, create_engine
from tests import processes
from workers.cpu_group import (
    CGROUP_MOUNTS,
    _move_backend,
    database_backend_joiner,
    include_database_backends,
    join_idle_cpu_group,
)

# Joining a group needs a writable cgroup tree: CI and make run here run as root, so these run.
# Where it is not writable the feature is the fallback, which the tests without the marker cover
# anywhere (the worker says why; backends that can't be matched or moved stay where they are).
WRITABLE_MOUNTS = [m for m in CGROUP_MOUNTS if os.access(m / "cgroup.procs", os.W_OK)]
needs_cgroups = pytest.mark.skipif(
    not WRITABLE_MOUNTS, reason="the cgroup tree is not writable here (needs root or delegation)"
)


@pytest.fixture
def group_name():  # type: ignore[no-untyped-def]
    """A group of this test's own, removed once its processes have ended (a database backend
    ends a moment after its connection closes)."""
    name = f"assistants-test-{uuid.uuid4().hex[:8]}"
    yield name
    for mount in CGROUP_MOUNTS:
        deadline = time.monotonic() + 10
        while (mount / name).is_dir():
            try:
                (mount / name).rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def cgroups_of(pid: int | str) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text()


@needs_cgroups
def test_a_process_moves_with_its_threads_into_an_idle_group(group_name: str) -> None:
    script = (
        "import threading, pathlib, sys\n"
        "from workers.cpu_group import join_idle_cpu_group\n"
        "threading.Thread(target=threading.Event().wait, daemon=True).start()\n"
        f"group = join_idle_cpu_group({group_name!r})\n"
        "print('>', group)\n"
        "print('>', (group / 'cpu.idle').read_text().strip())\n"
        "for task in pathlib.Path('/proc/self/task').iterdir():\n"
        "    print('>', (task / 'cgroup').read_text().replace('\\n', ' '))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=processes.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = [line[2:] for line in out.splitlines() if line.startswith("> ")]  # not the log lines
    assert out[0] == str(WRITABLE_MOUNTS[0] / group_name)
    assert out[1] == "1"
    threads = out[2:]
    assert len(threads) >= 2
    assert all(f"/{group_name}" in line for line in threads)


@needs_cgroups
def test_a_worker_configured_with_a_group_runs_in_it_and_one_without_does_not(
    group_name: str,
) -> None:
    background = processes.worker(
        "background", concurrency=4, env={"WORKER_IDLE_CPU_GROUP": group_name}
    ).start()
    plain = processes.worker("plain", concurrency=4, env={"WORKER_IDLE_CPU_GROUP": ""}).start()
    try:
        assert f"/{group_name}" in cgroups_of(background.pid)
        assert (WRITABLE_MOUNTS[0] / group_name / "cpu.idle").read_text().strip() == "1"
        assert group_name not in cgroups_of(plain.pid)
    finally:
        background.stop()
        plain.stop()


def test_without_a_cpu_controller_the_worker_runs_on_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "cgroup.procs").write_text("")  # looks like a cgroup mount, has no controllers
    with capture_logs() as logs:
        assert join_idle_cpu_group("background", mounts=(tmp_path,)) is None
    assert not (tmp_path / "background").exists()  # no half-made group left behind
    (warning,) = [e for e in logs if e["event"] == "worker.idle_cpu_group_unavailable"]
    assert warning["log_level"] == "warning"
    assert "cpu.idle" in warning["reasons"][0]


def test_without_a_cgroup_filesystem_the_worker_runs_on_and_says_why(tmp_path: Path) -> None:
    with capture_logs() as logs:
        assert join_idle_cpu_group("background", mounts=(tmp_path / "absent",)) is None
    assert logs[0]["reasons"] == ["no cgroup filesystem mounted"]


def test_the_group_name_cannot_leave_the_cgroup_tree() -> None:
    with pytest.raises(ValidationError):
        Settings(worker_idle_cpu_group="../../etc")


def _connect_twice(
    database_url: str, group: Path, members: bool = True
) -> tuple[list[int], set[int]]:
    """Two pooled connections of an engine with the group's listener: their backends' pids, and
    the group's processes while they are open (a backend ends with its connection)."""

    async def go() -> tuple[list[int], set[int]]:
        engine = create_engine(Settings(database_url=database_url), pool_size=2)
        include_database_backends(engine, group)
        try:
            held = [await engine.connect() for _ in range(2)]
            pids = [(await c.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one() for c in held]
            inside = (group / "cgroup.procs").read_text().split() if members else []
            for connection in held:
                await connection.close()
            return pids, {int(pid) for pid in inside}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _connect_twice_through_driver_pool(
    database_url: str, group: Path, members: bool = True
) -> tuple[list[int], set[int]]:
    """`_connect_twice` for asyncpg's own pool (the workers' job path) with the group's joiner."""

    async def go() -> tuple[list[int], set[int]]:
        settings = Settings(database_url=database_url)
        pool = await create_driver_pool(settings, 2, init=database_backend_joiner(group))
        try:
            held = [await pool.acquire() for _ in range(2)]
            pids = [await c.fetchval("SELECT pg_backend_pid()") for c in held]
            inside = (group / "cgroup.procs").read_text().split() if members else []
            for connection in held:
                await pool.release(connection)
            return pids, {int(pid) for pid in inside}
        finally:
            await pool.close()

    return asyncio.run(go())


POOLS = pytest.mark.parametrize(
    "connect_twice",
    [_connect_twice, _connect_twice_through_driver_pool],
    ids=["engine", "driver pool"],
)


@needs_cgroups
@POOLS
def test_the_database_backends_of_a_worker_in_the_group_join_it(
    group_name: str, settings: Settings, connect_twice
) -> None:
    group = WRITABLE_MOUNTS[0] / group_name
    group.mkdir()
    with capture_logs() as logs:
        pids, inside = connect_twice(settings.database_url, group)
    assert len(set(pids)) == 2
    assert set(pids) <= inside
    assert os.getpid() not in inside  # the backends moved, not the process connecting
    assert logs == []


@POOLS
def test_a_backend_that_cannot_be_moved_stays_and_the_connections_work(
    tmp_path: Path, settings: Settings, connect_twice
) -> None:
    """Said once for the pool, not per connection."""
    not_a_group = tmp_path / "group"  # no cgroup.procs: the move fails
    not_a_group.mkdir()
    with capture_logs() as logs:
        pids, _ = connect_twice(settings.database_url, not_a_group, members=False)
    assert len(set(pids)) == 2
    (warning,) = logs
    assert warning["event"] == "worker.database_backends_not_in_idle_cpu_group"
    assert warning["log_level"] == "warning"


def test_a_backend_that_cannot_be_matched_to_a_process_here_is_not_moved(tmp_path: Path) -> None:
    """A Unix socket shows no client port; with a database on another host, a local process
    with the backend's pid is somebody else."""
    (tmp_path / "cgroup.procs").write_text("")
    assert "Unix socket" in _move_backend(tmp_path, os.getpid(), None, None)
    assert "does not hold this connection" in _move_backend(tmp_path, os.getpid(), 5432, 1)
    assert (tmp_path / "cgroup.procs").read_text() == ""
