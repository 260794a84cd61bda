"""Helpers for tests that need a running emulator: start it in a subprocess and drive the
control API. Shared by tests/emulator and the worker tests, so everyone starts it the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    """``python -m emulator`` in a subprocess plus a small control-API client.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Output goes to the temporary
    file ``log_path`` (not a pipe, which could fill up and block the server).
    """

    def __init__(self, port: int | None = None, latency_ms: float = 0.0) -> None:
        self.port = port or free_port()
        self.latency_ms = latency_ms
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = httpx.Client(base_url=self.url, timeout=30)
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="emulator-", suffix=".log")[1])

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        """Launch the server and block until ``/_emulator/health`` answers."""
        pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "emulator", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--latency-ms", str(self.latency_ms)]
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND)
        try:
            self._proc = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONPATH": pythonpath},
                stdout=log_fd,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(log_fd)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"emulator exited early; log:\n{self.log_text()}")
            try:
                if self.control.get("/_emulator/health").json() == {"status": "ok"}:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"emulator not healthy after {timeout}s; log:\n{self.log_text()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate the server (kill if it does not exit promptly), close the client and delete
        the log (start failures include the log in their exception)."""
        self.control.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self.log_path.unlink(missing_ok=True)

    def log_text(self) -> str:
        """Everything the server printed so far (banner, warnings, tracebacks)."""
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control API ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.control.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Clear records, faults, counters and latency."""
        self._call("POST", "/_emulator/reset")

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded requests; filters: ``contains``, ``provider``, ``model``, ``limit``."""
        return self._call("GET", "/_emulator/requests", params=filters)

    def clear_requests(self) -> None:
        """Forget recorded requests."""
        self._call("DELETE", "/_emulator/requests")

    def configure(self, **config: Any) -> dict[str, Any]:
        """Set ``latencyMs``, ``latencyJitterMs``, ``chunkDelayMs`` or ``maxRecords``."""
        return self._call("PUT", "/_emulator/config", json=config)

    def fault(self, **spec: Any) -> dict[str, Any]:
        """Register a fault: ``match``, ``status``, ``times``, ``retryAfter``, ``delayMs``, ..."""
        return self._call("POST", "/_emulator/faults", json=spec)

    def clear_faults(self) -> None:
        """Remove all pending faults."""
        self._call("DELETE", "/_emulator/faults")

    def stats(self) -> dict[str, Any]:
        """Request counters by provider and status."""
        return self._call("GET", "/_emulator/stats")
