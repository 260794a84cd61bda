"""The subprocesses a bench run starts (emulator, API, baseline app, Celery), and how it stops them.

Every process logs to a file under the run's temp directory (never a pipe that could fill up) and
is stopped by its own pid; nothing here kills by name.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """One named subprocess with a log file; `start` waits for a URL or a log marker."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(
        self, *, health_url: str | None = None, marker: str | None = None, timeout: float = 40
    ) -> "Proc":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not self._ready(health_url, marker):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"{self.name} did not start:\n{tail}")
            time.sleep(0.1)
        return self

    def _ready(self, health_url: str | None, marker: str | None) -> bool:
        if marker is not None:
            return marker in self.log_path.read_text(errors="replace")
        if health_url is None:
            return True
        try:
            return httpx.get(health_url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (psutil if installed, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def uvicorn(name: str, app: str, port: int, env: dict[str, str], log_dir: Path) -> Proc:
    args = [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--no-access-log", "--log-level", "warning", "--backlog", "4096"]
    return Proc(name, args, env, log_dir)


def emulator(port: int, env: dict[str, str], log_dir: Path, name: str = "emulator") -> Proc:
    args = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--max-records", "1000", "--log-level", "warning"]
    return Proc(name, args, env, log_dir)


def celery_worker(
    name: str,
    app: str,
    queues: str,
    concurrency: int,
    env: dict[str, str],
    log_dir: Path,
    nice: int = 0,
) -> Proc:
    args = ["nice", "-n", str(nice)] if nice else []
    args += [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "threads"]
    args += ["--concurrency", str(concurrency), "--queues", queues]
    args += ["--hostname", f"{name}-{os.getpid()}@%h", "--without-mingle", "--without-gossip"]
    args += ["--loglevel", "INFO"]
    return Proc(name, args, env, log_dir)


def celery_beat(env: dict[str, str], log_dir: Path) -> Proc:
    args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat"]
    args += ["--loglevel", "INFO", "--schedule", str(log_dir / "beat-schedule")]
    return Proc("beat", args, env, log_dir)
