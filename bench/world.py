"""A bench run's private world: database, Redis prefix, tenants, processes; and its teardown.

`bench.run` sets the environment before importing this module, so every project module (and every
subprocess) reads the bench's settings.
"""

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis import Redis

from bench import cpu, processes
from shared.companies.limits import set_limits
from shared.companies.service import create_company
from shared.config import get_settings
from shared.database_admin import create_database_if_missing, drop_database
from shared.db import create_engine, create_sessionmaker
from shared.migrations.runner import upgrade
from shared.queueing import Queue, queue_name
from workers.cpu_group import CGROUP_MOUNTS, join_idle_cpu_group

HIGH_LIMITS = {
    "rpm": 2_000_000_000,
    "tpm": 2_000_000_000,
    "concurrency": 100_000,
    "max_queued": 10_000_000,
}
ASSISTANT = {
    "name": "Bench Agent",
    "description": "benchmark assistant",
    "llmProvider": "openai",
    "llmModel": "gpt-4o",
    "llmPrompt": "You are a helpful customer support agent.",
    "maxTokens": 256,
    "language": "en",
    "teamIds": ["team-1"],
}
WORKER_THREADS = 200
INTERACTIVE_THREADS = 50
# The background worker yields the CPU to the interactive one, as separate CPU does in a deployment
# (compose: cpu_shares; make run: an idle CPU group, nice where that is not allowed). One machine
# runs both here.
BACKGROUND_NICE = 10
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Tenant:
    company_id: str
    api_key: str
    assistant_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class World:
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))
    procs: dict[str, processes.Proc] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = get_settings()
        self.env = os.environ.copy()
        self.api_port = processes.free_port()
        self.baseline_port = processes.free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.baseline_url = f"http://127.0.0.1:{self.baseline_port}"
        self.emulator_url = f"http://127.0.0.1:{self.settings.emulator_port}"
        self.background_emulator_port = processes.free_port()
        self.redis = Redis.from_url(self.settings.redis_url)
        self.background_cpu_group = f"{self.settings.redis_key_prefix}-background"
        self.background_in_idle_group = False

    # -- database --------------------------------------------------------------------------
    def create_database(self) -> None:
        asyncio.run(create_database_if_missing(self.settings.database_url))
        upgrade(self.settings.database_url)

    def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            connection = await asyncpg.connect(self.settings.sync_database_url)
            try:
                return await connection.fetch(query, *args)
            finally:
                await connection.close()

        return asyncio.run(go())

    def db_now(self) -> Any:
        return self.sql("SELECT now() AS t")[0]["t"]

    # -- processes ---------------------------------------------------------------------------
    def start(self, name: str) -> processes.Proc:
        """Start a process of the system (a no-op when it already runs)."""
        if name in self.procs:
            return self.procs[name]
        env, logs = self.env, self.log_dir
        if name == "emulator":
            proc = processes.emulator(self.settings.emulator_port, env, logs)
            proc.start(health_url=f"{self.emulator_url}/_emulator/health")
        elif name == "emulator-background":
            # The emulator stands for the providers' fleets, which don't answer one caller later
            # because another sends a thousand calls a second. One emulator for both workers
            # queued the interactive call behind the batch's bursts on its event loop (p99 2 -> 9
            # ms, docs/benchmarks.md, fifteenth run), and its CPU for the batch, a provider's
            # work, competed with the interactive path. So the background worker has its own, in
            # its idle CPU group; the interactive worker and target 4's direct calls share the other.
            port = self.background_emulator_port
            proc = processes.emulator(port, env, logs, name)
            proc.start(health_url=f"http://127.0.0.1:{port}/_emulator/health")
            join_idle_cpu_group(self.background_cpu_group, pid=proc.pid)
        elif name == "api":
            proc = processes.uvicorn("api", "api.main:app", self.api_port, env, logs)
            proc.start(health_url=f"{self.api_url}/docs")
        elif name == "baseline":
            proc = processes.uvicorn(
                "baseline", "bench.baseline_app:app", self.baseline_port, env, logs
            )
            proc.start(health_url=f"{self.baseline_url}/docs")
        elif name == "worker":  # the background work: async jobs, batch items, maintenance
            queues = ",".join(
                queue_name(self.settings, q) for q in Queue if q is not Queue.interactive
            )
            self.start("emulator-background")
            env = {
                **env,
                "WORKER_IDLE_CPU_GROUP": self.background_cpu_group,
                "EMULATOR_PORT": str(self.background_emulator_port),
            }
            proc = processes.celery_worker(
                "worker", "workers.celery_app", queues, WORKER_THREADS, env, logs, BACKGROUND_NICE
            )
            proc.start()
            self.background_in_idle_group = self._joined_cpu_group(proc)
        elif name == "interactive":  # synchronous execute only, as deploy/ runs it
            proc = processes.celery_worker(
                "interactive",
                "workers.celery_app",
                queue_name(self.settings, Queue.interactive),
                INTERACTIVE_THREADS,
                {**env, "WORKER_METRICS_PORT": "0"},
                logs,
            )
            proc.start()
        elif name == "noop":
            proc = processes.celery_worker(
                "noop",
                "bench.noop_tasks",
                f"{self.settings.redis_key_prefix}.noop",
                WORKER_THREADS,
                env,
                logs,
            )
            proc.start()
        elif name == "beat":
            proc = processes.celery_beat(env, logs).start()
        else:
            raise ValueError(name)
        self.procs[name] = proc
        return proc

    def cpu_snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of each running process of the system (bench/cpu.py)."""
        names = {
            "api": "API",
            "baseline": "baseline app",
            "interactive": "interactive worker",
            "worker": "background worker",
            "emulator": "emulator",
            "emulator-background": "background emulator",
        }
        return cpu.snapshot(
            {label: [self.procs[name].pid] for name, label in names.items() if name in self.procs}
        )

    def _joined_cpu_group(self, proc: processes.Proc, timeout: float = 15.0) -> bool:
        """The worker joins its group as Celery starts it (`worker_init`), or logs why not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = Path(f"/proc/{proc.pid}/cgroup").read_text().splitlines()
            if any(line.endswith(f"/{self.background_cpu_group}") for line in lines):
                return True
            if "idle_cpu_group_unavailable" in proc.log_path.read_text(errors="replace"):
                return False
            time.sleep(0.1)
        return False

    def background_group_members(self) -> dict[str, int]:
        """The processes in the background worker's idle CPU group, counted by command name."""
        members: dict[str, int] = {}
        for mount in CGROUP_MOUNTS:
            procs = mount / self.background_cpu_group / "cgroup.procs"
            with contextlib.suppress(OSError):
                for pid in procs.read_text().split():
                    with contextlib.suppress(OSError):
                        comm = Path(f"/proc/{pid}/comm").read_text().strip()
                        members[comm] = members.get(comm, 0) + 1
                return members
        return members

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            proc.stop()

    def emulator_latency(self, ms: float) -> None:
        ports = [self.settings.emulator_port]
        if "emulator-background" in self.procs:
            ports.append(self.background_emulator_port)
        for port in ports:
            httpx.put(
                f"http://127.0.0.1:{port}/_emulator/config", json={"latencyMs": ms}
            ).raise_for_status()

    # -- tenants -----------------------------------------------------------------------------
    def add_tenant(self, name: str, **limits: int) -> Tenant:
        async def go() -> Tenant:
            engine = create_engine(self.settings, pool_size=1)
            try:
                async with create_sessionmaker(engine)() as session, session.begin():
                    company, raw = await create_company(session, f"bench {name}")
                    await set_limits(session, company.id, **{**HIGH_LIMITS, **limits})
                    return Tenant(company.id, raw)
            finally:
                await engine.dispose()

        tenant = asyncio.run(go())
        response = httpx.post(
            f"{self.api_url}/api/assistants", json=ASSISTANT, headers=tenant.headers, timeout=30
        )
        response.raise_for_status()
        tenant.assistant_id = response.json()["id"]
        self.tenants[name] = tenant
        return tenant

    # -- jobs --------------------------------------------------------------------------------
    def job_stats(self, company_id: str, since: Any, batch_id: str | None = None) -> dict[str, Any]:
        row = self.sql(
            """SELECT count(*) AS total,
                      count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                      count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled')) AS done,
                      min(started_at) AS first_start, max(finished_at) AS last_finish
               FROM jobs WHERE company_id = $1 AND created_at >= $2
                 AND ($3::text IS NULL OR batch_id = $3)""",
            company_id,
            since,
            batch_id,
        )[0]
        return dict(row)

    def wait_done(
        self,
        company_id: str,
        since: Any,
        batch_id: str | None = None,
        expected: int | None = None,
        timeout: float = 300,
    ) -> dict[str, Any]:
        """Waits until every job is terminal; returns the stats with `rate` (succeeded/s)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.job_stats(company_id, since, batch_id)
            total = expected or stats["total"]
            if (total and stats["done"] >= total) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        span = (
            (stats["last_finish"] - stats["first_start"]).total_seconds()
            if stats["first_start"] and stats["last_finish"]
            else float("nan")
        )
        stats["rate"] = stats["succeeded"] / span if span and span > 0 else float("nan")
        stats["span"] = span
        stats["timed_out"] = stats["done"] < (expected or stats["total"])
        return stats

    def cancel_pending(self, company_id: str) -> None:
        self.sql(
            """UPDATE jobs SET status = 'cancelled', finished_at = now()
                    WHERE company_id = $1 AND status = 'queued' AND enqueued_at IS NULL""",
            company_id,
        )

    # -- teardown ----------------------------------------------------------------------------
    def close(self, keep_database: bool = False) -> None:
        for name in list(self.procs)[::-1]:
            self.stop(name)
        prefix = self.settings.redis_key_prefix
        keys = list(self.redis.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.delete(*keys[start : start + 500])
        self.redis.close()
        for mount in CGROUP_MOUNTS:  # empty once the worker's database backends have ended too
            group = mount / self.background_cpu_group
            deadline = time.monotonic() + 10
            while group.is_dir() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    group.rmdir()
                time.sleep(0.05)
        if not keep_database:
            asyncio.run(drop_database(self.settings.database_url))
