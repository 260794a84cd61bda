"""Background workers join an idle CPU group: on this machine for real, elsewhere they say why not."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared.config import Settings
from tests import processes
from workers.cpu_group import CGROUP_MOUNTS, join_idle_cpu_group

# Joining a group needs a writable cgroup tree: CI and make run here run as root, so these run.
# Where it is not writable the feature is the fallback, which the last three tests cover anywhere.
WRITABLE_MOUNTS = [m for m in CGROUP_MOUNTS if os.access(m / "cgroup.procs", os.W_OK)]
needs_cgroups = pytest.mark.skipif(
    not WRITABLE_MOUNTS, reason="the cgroup tree is not writable here (needs root or delegation)"
)


@pytest.fixture
def group_name():  # type: ignore[no-untyped-def]
    """A group of this test's own, removed once its processes have ended."""
    name = f"assistants-test-{uuid.uuid4().hex[:8]}"
    yield name
    for mount in CGROUP_MOUNTS:
        if (mount / name).is_dir():
            (mount / name).rmdir()


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
