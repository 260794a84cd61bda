"""Real Celery processes for pipeline tests: workers (that tests may kill) and beat."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared.config import get_settings
from shared.queueing import Queue, queue_name

REPO_ROOT = Path(__file__).resolve().parents[1]
CELERY = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]


def all_queues() -> str:
    settings = get_settings()
    return ",".join(queue_name(settings, queue) for queue in Queue)


class CeleryProcess:
    def __init__(
        self, *args: str, ready_marker: str, name: str, env: dict[str, str] | None = None
    ) -> None:
        self.args = list(args)
        self.env = env or {}
        self.ready_marker = ready_marker
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> "CeleryProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop; the child keeps it open)
        offset = len(self.log_text())  # a restart must see its own "ready", not the last run's
        self.proc = subprocess.Popen(
            [*CELERY, *self.args],
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=log,
        )
        self._log = log
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log_text()[offset:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """kill -9: no warm shutdown, no acknowledgements, no goodbyes."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()


def worker(
    name: str = "w1", concurrency: int = 50, env: dict[str, str] | None = None
) -> CeleryProcess:
    return CeleryProcess(
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        all_queues(),
        "--hostname",
        f"{name}-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
        ready_marker=" ready.",
        name=name,
        env=env,
    )


def beat() -> CeleryProcess:
    schedule = tempfile.mkdtemp(prefix="beat-")
    return CeleryProcess(
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        f"{schedule}/schedule",
        ready_marker="beat: Starting",
        name="beat",
    )


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 30
) -> None:
    """Until `url` answers 200; a process that exits or a timeout fails, quoting its log."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{url} did not come up:\n{tail}")
        time.sleep(0.2)
