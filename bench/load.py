"""Running load from a separate process: wrk (with a Lua script) when present, else bench/loadgen.py."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

WRK_LUA = """
wrk.method = {method}
wrk.body = {body}
{headers}
local paths = {{ {paths} }}
request = function()
  return wrk.format(nil, paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"non2xx\\": %d,"
    .. " \\"p50\\": %.3f, \\"p99\\": %.3f}}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_str(value: str) -> str:
    return "[==[" + value + "]==]"


def ensure_tool(command: str, package: str) -> str | None:
    """The command's path; installs Debian's package when missing and we are root (a fresh
    machine)."""
    if not shutil.which(command) and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", package],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=180,
            check=False,
        )
    return shutil.which(command)


def ensure_wrk() -> str | None:
    if os.environ.get("BENCH_NO_WRK"):  # use one that is there, install nothing
        return shutil.which("wrk")
    return ensure_tool("wrk", "wrk")


class Load:
    def __init__(self, use_wrk: bool) -> None:
        self.wrk = ensure_wrk() if use_wrk else None
        self.tool = "wrk -t2" if self.wrk else "bench/loadgen.py (asyncio+httpx)"

    def http(
        self,
        base_url: str,
        paths: list[str],
        *,
        method: str = "GET",
        body: str = "",
        headers: dict[str, str] | None = None,
        connections: int = 64,
        duration: float = 8.0,
        force_python: bool = False,
    ) -> dict[str, Any]:
        """rps, p50/p99 (ms), errors and non-2xx counts for one run."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.wrk and not force_python:
            return self._wrk(base_url, paths, method, body, headers, connections, duration)
        return self.python(
            base_url,
            paths,
            method=method,
            body=body,
            headers=headers,
            connections=connections,
            duration=duration,
        )

    def _wrk(self, base_url, paths, method, body, headers, connections, duration):  # type: ignore[no-untyped-def]
        script = WRK_LUA.format(
            method=lua_str(method),
            body=lua_str(body) if body else "nil",
            headers="\n".join(
                f"wrk.headers[ {lua_str(k)} ] = {lua_str(v)}" for k, v in headers.items()
            ),
            paths=", ".join(lua_str(p) for p in paths),
        )
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        try:
            out = subprocess.run(
                [
                    self.wrk,
                    "-t2",
                    f"-c{connections}",
                    f"-d{int(duration)}s",
                    "--timeout",
                    "30s",
                    "-s",
                    handle.name,
                    base_url,
                ],
                capture_output=True,
                text=True,
                timeout=duration + 60,
                check=True,
            ).stdout
        finally:
            os.unlink(handle.name)
        line = next(li for li in out.splitlines() if li.startswith("BENCHJSON "))
        data = json.loads(line.removeprefix("BENCHJSON "))
        seconds = data["duration_us"] / 1e6
        good = data["requests"] - data["non2xx"]
        return {**data, "rps": good / seconds, "duration": seconds}

    def python(
        self,
        base_url: str,
        paths: list[str],
        *,
        method: str = "GET",
        body: str = "",
        headers: dict[str, str] | None = None,
        connections: int = 1,
        duration: float = 10.0,
        requests: int = -1,
        sdk_model: str | None = None,
    ) -> dict[str, Any]:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write("\n".join(paths))
        args = [
            sys.executable,
            str(HERE / "loadgen.py"),
            "--url",
            base_url,
            "--paths-file",
            handle.name,
            "--method",
            method,
            "--body",
            body,
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--requests",
            str(requests),
        ]
        for name, value in (headers or {}).items():
            args += ["--header", f"{name}:{value}"]
        if sdk_model:
            args += ["--sdk", "--model", sdk_model]
        try:
            out = subprocess.run(
                args, capture_output=True, text=True, timeout=duration + 120, check=True
            ).stdout
        finally:
            os.unlink(handle.name)
        data = json.loads(out.strip().splitlines()[-1])
        data["non2xx"] = sum(n for s, n in data["statuses"].items() if int(s) >= 300)
        return data
