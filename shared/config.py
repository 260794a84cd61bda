"""Settings shared by the API, the workers and the admin CLI.

Read from the environment (and an optional `.env`), so every process of a deployment agrees on
one source of truth. See `.env.example` for the documented list.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/assistants"
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key and Celery queue we create starts with this, so test runs never collide.
    redis_key_prefix: str = "assistants"
    celery_broker_url: str | None = None

    model_catalogue_file: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True

    # Providers: keys and base URLs (base URLs point the official SDKs at the emulator).
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    google_api_key: str | None = None
    google_gemini_base_url: str | None = None
    allow_emulated_providers: bool = False
    emulator_host: str = "127.0.0.1"
    emulator_port: int = 8090

    # Execution.
    sync_wait_seconds: float = 30.0
    provider_timeout_seconds: float = 60.0
    provider_max_attempts: int = 4
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 20.0
    # A running job's lease is the provider timeout plus this margin, renewed at each attempt;
    # a job whose worker died is re-queued once it expires (within ~2 minutes by default).
    job_lease_margin_seconds: float = 30.0
    reaper_interval_seconds: float = 15.0
    queued_job_requeue_seconds: float = 120.0
    worker_concurrency: int = 200
    # Provider calls one worker process runs at once (workers/jobs/capacity.py). Set
    # DISPATCH_MAX_IN_FLIGHT a little above workers x this, and the extra chunks wait in the
    # workers, ready to start as calls end, rather than for a dispatcher round.
    worker_max_calls: int = Field(default=200, ge=1)
    # A chunk waiting for call room starts once this many calls are free (or all it has left),
    # so it runs in a few parts rather than one claim and one outcome write per job.
    worker_min_part: int = Field(default=10, ge=1)
    # An outcome write waits this long at most for the rest of its part's calls, so that calls
    # ending together share one transaction (workers/jobs/pipeline.py).
    worker_outcome_linger_seconds: float = Field(default=0.01, ge=0, le=1)
    # Task events (what Flower shows) go out in one message this often rather than one message
    # each as they happen, off the path of the task (workers/consumer.py). 0: Celery's own way.
    worker_task_events_flush_seconds: float = Field(default=0.1, ge=0, le=5)
    # The worker's database pool (and as many again in overflow): transactions are short, one
    # claim and one outcome per chunk, so this does not grow with the worker's threads.
    worker_database_pool_size: int = 10
    # A CPU control group (cgroup) the worker joins at start and marks idle (`cpu.idle`), for
    # background workers on a machine that also serves callers: their threads then get only the
    # CPU nothing else wants, and the API, the interactive worker and PostgreSQL preempt them at
    # once, which nice values cannot do across processes (workers/cpu_group.py). Empty: off.
    worker_idle_cpu_group: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$", max_length=64)
    # With the group: the worker's PostgreSQL backends join it too where the database runs on
    # the same host and the worker may move them (workers/cpu_group.py); elsewhere a no-op.
    worker_idle_cpu_group_includes_database: bool = True
    broker_visibility_timeout_seconds: int = 300
    idempotency_ttl_hours: int = 24

    # Per-company limits (the "plan"); `assistants-admin company limits` overrides them per company.
    default_rpm_limit: int = 600
    default_tpm_limit: int = 1_000_000
    default_concurrency_limit: int = 50
    default_max_queued: int = 100_000
    # The limiter's window is a minute plus this margin, which absorbs the delay between
    # dispatch and the provider call so that no minute window at the provider exceeds a limit.
    limit_window_margin_seconds: float = 2.0
    # The length of the "minute" (tests shrink it to keep their runs short).
    limit_window_seconds: float = 60.0
    # How far the clocks of API and worker hosts may differ (NTP keeps them within milliseconds).
    # A worker skips its limiter re-stamp of a synchronous job whose admission, by the API's clock,
    # is so recent that the re-stamp could not change anything (`Limiter.restamp_may_change`).
    limit_clock_skew_seconds: float = 0.25
    # Fleet-wide cap on dispatched asynchronous and batch jobs, leaving worker slots free for
    # interactive requests; batch items travel in chunks of this many per Celery task. Each chunk
    # costs a Celery task, a claim, outcome writes, limiter calls and a dispatcher wake-up, so its
    # size sets their cost per item: 40 drained a batch at 1.22-1.25x the bare Celery no-op drain,
    # 30 at 1.07x, 20 at 0.96x (bench, docs/benchmarks.md); on a slower host 40 gave 0.99-1.01x
    # and 80 1.08-1.22x (docs/benchmarks.md, sixteenth run). It is also each company's quantum
    # per dispatcher pass, and the cap divided by it is how many workers a batch keeps busy.
    dispatch_max_in_flight: int = 150
    dispatch_chunk_size: int = 80
    dispatch_interval_seconds: float = 1.0

    # Batches.
    batch_max_items: int = 50_000
    batch_max_body_bytes: int = 64 * 1024 * 1024

    # Attachments fetched by workers when a provider needs the bytes.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_fetch_timeout_seconds: float = 10.0
    attachment_allowed_hosts: list[str] = Field(default_factory=list)

    # Flower.
    flower_basic_auth: str | None = None

    # Monitoring: each worker process serves its Prometheus metrics here (0 turns it off).
    worker_metrics_port: int = 9808
    worker_metrics_address: str = "0.0.0.0"

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @property
    def sync_database_url(self) -> str:
        """The same database for tools that speak plain libpq URLs (psql, createdb)."""
        return self.database_url.replace("+asyncpg", "")

    @property
    def job_lease_seconds(self) -> float:
        return self.provider_timeout_seconds + self.job_lease_margin_seconds

    def key(self, *parts: str) -> str:
        return ":".join((self.redis_key_prefix, *parts))


@lru_cache
def get_settings() -> Settings:
    return Settings()
