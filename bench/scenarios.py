"""The measurements. Each returns Figures; every figure has >= `runs` runs and a same-run baseline."""

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import cpu, sched_trace
from bench.load import Load
from bench.noop_tasks import KEY_PREFIX, QUEUE
from bench.processes import rss_mb
from bench.world import World

BODY = json.dumps({"userInput": "Hello, how are you?"})


def with_cpu(world: World, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A load run's result with `cpu`: milliseconds of CPU per request by process."""
    before = world.cpu_snapshot()
    result = run()
    served = result["requests"] + result.get("warmup", 0)
    result["cpu"] = cpu.per_request(before, world.cpu_snapshot(), served)
    return result


@dataclass
class Plan:
    runs: int = 3
    duration: float = 8.0  # seconds per HTTP load run
    noop_tasks: int = 5000
    pipeline_batch: int = 4000
    concurrency_items: int = 4000  # 20 waves of 200: the first and last waves weigh little
    light_requests: int = 300
    # Target 6's p99s, each from this many requests: from 200, the idle p99 (the second-slowest)
    # ranged 15.6-35.7 ms over runs of the same code, and the ratio with it; from 600 (the sixth
    # slowest), 13-25 ms within one hour.
    isolation_requests: int = 1000
    ingest_items: int = 50_000
    crud_assistants: int = 100_000
    drain_timeout: float = 120.0
    # The 50,000-item drain behind targets 6 and memory runs to its end: RSS over all of it.
    big_drain_timeout: float = 300.0


# Target 6's scheduler traces: an extra run idle and one loaded, each traced for this long.
SCHED_TRACE_SECONDS = 4.0
SCHED_TRACE_REQUESTS = 400


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def execute_path(tenant: Any) -> str:
    return f"/api/assistants/{tenant.assistant_id}/execute"


# -- baselines (a), (b) --------------------------------------------------------------------
def http_baselines(world: World, load: Load, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"bare": [], "naive": [], "bare16": []}
    for run in range(plan.runs):
        for key, path, conns in (
            ("bare", "/bare", 64),
            ("naive", "/naive", 64),
            ("bare16", "/bare", 16),
        ):
            result = with_cpu(
                world,
                lambda path=path, conns=conns: load.http(
                    world.baseline_url,
                    [path],
                    method="POST",
                    body=BODY,
                    connections=conns,
                    duration=plan.duration,
                ),
            )
            out[key].append(result)
            log(f"baseline {key} run {run + 1}: {result['rps']:.0f} rps p99 {result['p99']:.1f} ms")
    return out


# -- baseline (c) --------------------------------------------------------------------------
def noop_drain(world: World, plan: Plan) -> list[float]:
    return [noop_drain_run(world, plan, run) for run in range(plan.runs)]


def noop_drain_run(world: World, plan: Plan, run: int) -> float:
    """One drain of `plan.noop_tasks` queued no-op tasks by a fresh no-op worker, in tasks/s."""
    from bench.noop_tasks import enqueue

    key = f"{KEY_PREFIX}{QUEUE}"
    enqueue(plan.noop_tasks)
    queued = world.redis.llen(key)
    assert queued >= plan.noop_tasks, f"no-op queue {key} holds {queued}"
    world.start("noop")
    first = last = None
    deadline = time.monotonic() + 120
    remaining = queued
    while time.monotonic() < deadline:
        remaining = world.redis.llen(key)
        now = time.perf_counter()
        if first is None and remaining < queued:
            first = (now, remaining)
        if remaining == 0:
            last = now
            break
        time.sleep(0.02)
    world.stop("noop")
    rate = first[1] / (last - first[0]) if first and last and last > first[0] else float("nan")
    log(f"no-op drain run {run + 1}: {rate:.0f} tasks/s")
    return rate


# -- baseline (d) and target 4 -------------------------------------------------------------
def light_latency(
    world: World, load: Load, plan: Plan, tenant: Any, conns: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(direct SDK runs, sync execute runs), interleaved so drift hits both alike."""
    direct, sync = [], []
    for run in range(plan.runs):
        d = with_cpu(
            world,
            lambda: load.python(
                f"{world.emulator_url}/v1",
                ["/"],
                connections=conns,
                duration=120,
                requests=plan.light_requests,
                sdk_model="gpt-4o",
            ),
        )
        s = with_cpu(
            world,
            lambda: load.python(
                world.api_url,
                [execute_path(tenant)],
                method="POST",
                body=BODY,
                headers=tenant.headers,
                connections=conns,
                duration=120,
                requests=plan.light_requests,
            ),
        )
        direct.append(d)
        sync.append(s)
        log(
            f"light run {run + 1}: direct p50 {d['p50']:.1f}/p99 {d['p99']:.1f} ms, sync p50 "
            f"{s['p50']:.1f}/p99 {s['p99']:.1f} ms, errors {s['errors']}"
        )
    return direct, sync


# -- targets 1 and 2 (async) ---------------------------------------------------------------
def admission_and_async_pipeline(
    world: World, load: Load, plan: Plan, tenant: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Admission with the worker stopped (jobs wait in PostgreSQL), then the drain of those jobs."""
    admissions, drains = [], []
    for run in range(plan.runs):
        world.stop("worker")
        since = world.db_now()
        result = load.http(
            world.api_url,
            [execute_path(tenant)],
            method="POST",
            body=BODY,
            headers={**tenant.headers, "Prefer": "respond-async"},
            connections=64,
            duration=plan.duration,
        )
        admissions.append(result)
        log(
            f"admission run {run + 1}: {result['rps']:.0f} rps p99 {result['p99']:.1f} ms "
            f"non-2xx {result['non2xx']} errors {result['errors']}"
        )
        world.start("worker")
        stats = world.wait_done(tenant.company_id, since, timeout=plan.drain_timeout)
        drains.append(stats)
        log(
            f"async pipeline run {run + 1}: {stats['succeeded']}/{stats['total']} in "
            f"{stats['span']:.1f}s = {stats['rate']:.0f} jobs/s"
        )
        world.cancel_pending(tenant.company_id)
    return admissions, drains


def post_batch(world: World, tenant: Any, items: int, timeout: float = 300) -> tuple[float, str]:
    body = json.dumps(
        {"items": [{"customId": f"item-{i}", "userInput": f"Question {i}?"} for i in range(items)]}
    )
    started = time.perf_counter()
    response = httpx.post(
        f"{world.api_url}/api/assistants/{tenant.assistant_id}/batches",
        content=body,
        headers={**tenant.headers, "Content-Type": "application/json"},
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()["id"]


def batch_pipeline(
    world: World, plan: Plan, tenant: Any, before_each: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Drains of a fresh batch by a freshly started worker; `before_each(run)` runs first (the
    no-op baseline's run, so the host's drift over minutes hits both figures alike)."""
    drains = []
    for run in range(plan.runs):
        world.stop("worker")
        if before_each is not None:
            before_each(run)
        since = world.db_now()
        _, batch_id = post_batch(world, tenant, plan.pipeline_batch)
        world.start("worker")
        stats = world.wait_done(
            tenant.company_id, since, batch_id, plan.pipeline_batch, timeout=plan.drain_timeout
        )
        drains.append(stats)
        log(
            f"batch pipeline run {run + 1}: {stats['succeeded']}/{stats['total']} in "
            f"{stats['span']:.1f}s = {stats['rate']:.0f} items/s"
        )
        world.cancel_pending(tenant.company_id)  # a left-over backlog would go first next run
    return drains


# -- target 3 ------------------------------------------------------------------------------
def concurrency(world: World, plan: Plan, tenant: Any) -> list[dict[str, Any]]:
    world.emulator_latency(1000)
    results = []
    try:
        for run in range(plan.runs):
            since = world.db_now()
            _, batch_id = post_batch(world, tenant, plan.concurrency_items)
            stats = world.wait_done(
                tenant.company_id,
                since,
                batch_id,
                plan.concurrency_items,
                timeout=plan.drain_timeout,
            )
            results.append(stats)
            log(f"concurrency run {run + 1}: {stats['rate']:.0f} items/s (ideal 200)")
            world.cancel_pending(tenant.company_id)
    finally:
        world.emulator_latency(0)
    return results


# -- targets 5 and 6, worker memory --------------------------------------------------------
def ingest(world: World, plan: Plan, tenant: Any) -> list[float]:
    world.stop("worker")
    times = []
    for run in range(plan.runs):
        elapsed, _ = post_batch(world, tenant, plan.ingest_items)
        times.append(elapsed)
        log(f"ingest run {run + 1}: {plan.ingest_items} items in {elapsed:.2f}s")
        world.cancel_pending(tenant.company_id)
    return times


def isolation(
    world: World, load: Load, plan: Plan, interactive: Any, batcher: Any
) -> dict[str, Any]:
    """Interactive p99 idle vs while a 50,000-item batch is queued and draining; worker RSS.

    Idle and loaded runs alternate (each loaded run right after its idle one, a fresh 50,000-item
    batch each time; the earlier batches are cancelled once their run is measured): this host's
    idle p99 drifts by a third within minutes, and all idle runs first compared one stretch of
    time with another. The last batch drains to its end for the drain and memory figures."""
    world.start("worker")
    idle, busy = [], []
    perf = sched_trace.ensure_perf()

    def light(requests: int = plan.isolation_requests) -> Any:  # one connection, sequential
        return load.python(
            world.api_url,
            [execute_path(interactive)],
            method="POST",
            body=BODY,
            headers=interactive.headers,
            connections=1,
            duration=120,
            requests=requests,
        )

    def traced() -> dict[str, Any] | None:  # an extra, unmeasured run under `perf sched`
        if perf is None:
            return None
        names = ("api", "interactive", "emulator", "worker", "emulator-background")
        processes = {n: world.procs[n].pid for n in names if n in world.procs}
        db_port = urlsplit(world.settings.sync_database_url).port or 5432
        trace = sched_trace.Trace(perf, SCHED_TRACE_SECONDS, processes, db_port)
        result = light(SCHED_TRACE_REQUESTS)
        waits = trace.finish()
        return None if waits is None else {"waits": waits, "rps": result["rps"]}

    traces = {"idle": traced()}
    rss_start = rss_mb(world.procs["worker"].pid)
    rss_running = float("nan")
    group: dict[str, int] = {}
    first_since = world.db_now()
    for run in range(plan.runs):
        idle.append(light())
        since = world.db_now()
        _, batch_id = post_batch(world, batcher, plan.ingest_items)
        time.sleep(2)
        if run == 0:
            rss_running = rss_mb(world.procs["worker"].pid)
            group = world.background_group_members()  # the worker's backends are connected now
        busy.append(light())
        log(
            f"isolation run {run + 1}: idle p99 {idle[run]['p99']:.1f} ms, with batch p99 "
            f"{busy[run]['p99']:.1f} ms"
        )
        if run < plan.runs - 1:  # the next idle run needs an idle system
            world.cancel_pending(batcher.company_id)
            world.wait_done(batcher.company_id, since, batch_id, timeout=60)
            # What autovacuum does on a server that runs it (migration 0007): without it, the
            # dispatcher's in-flight count visits the cancelled batch's dead index entries.
            world.sql("VACUUM ANALYZE jobs")
    queued_during = world.job_stats(batcher.company_id, since, batch_id)
    traces["busy"] = traced()
    alone_since = world.db_now()  # from here the batch drains with nothing else running
    stats = world.wait_done(
        batcher.company_id, since, batch_id, plan.ingest_items, timeout=plan.big_drain_timeout
    )
    alone = world.sql(
        """SELECT count(*) AS succeeded, max(finished_at) AS last_finish FROM jobs
           WHERE company_id = $1 AND batch_id = $2 AND status = 'succeeded'
             AND finished_at > $3""",
        batcher.company_id,
        batch_id,
        alone_since,
    )[0]
    alone_span = (
        (alone["last_finish"] - alone_since).total_seconds() if alone["last_finish"] else 0.0
    )
    stats["alone"] = {
        "succeeded": alone["succeeded"],
        "span": alone_span,
        "rate": alone["succeeded"] / alone_span if alone_span > 0 else float("nan"),
    }
    rss_end = rss_mb(world.procs["worker"].pid)
    log(
        f"50k drain: {stats['succeeded']}/{stats['total']} at {stats['rate']:.0f} items/s "
        f"({stats['alone']['rate']:.0f} once alone); "
        f"worker RSS {rss_start:.0f} -> {rss_running:.0f} -> {rss_end:.0f} MiB"
    )
    world.cancel_pending(batcher.company_id)
    return {
        "idle": idle,
        "busy": busy,
        "drain": stats,
        "rss": (rss_start, rss_running, rss_end),
        "done_after_busy": queued_during["done"],
        "traces": traces if perf else None,
        "background_group": group,
        "jobs_run": world.job_stats(batcher.company_id, first_since)["succeeded"],
    }


# -- target 8 ------------------------------------------------------------------------------
def seed_assistants(world: World, tenant: Any, count: int) -> list[str]:
    world.sql(
        """INSERT INTO assistants (id, company_id, name, description, llm_provider, llm_model,
               llm_prompt, max_tokens, language, team_ids, last_accessed_at, created_at, updated_at)
           SELECT substr(md5(i::text || $1), 1, 24), $1, 'Assistant ' || md5(i::text),
                  'seeded', 'openai', 'gpt-4o', 'You are helpful.', 256, 'en',
                  ARRAY['team-' || (i % 50)],
                  CASE WHEN i % 3 = 0 THEN NULL ELSE now() - (i || ' minutes')::interval END,
                  now() - (i || ' seconds')::interval, now()
           FROM generate_series(1, $2::int) AS i""",
        tenant.company_id,
        count,
    )
    world.sql("VACUUM ANALYZE assistants")
    rows = world.sql(
        "SELECT id FROM assistants WHERE company_id = $1 ORDER BY random() LIMIT 500",
        tenant.company_id,
    )
    return [row["id"] for row in rows]


def crud(
    world: World, load: Load, plan: Plan, tenant: Any, baselines: dict[str, list[Any]]
) -> dict[str, list[dict[str, Any]]]:
    ids = seed_assistants(world, tenant, plan.crud_assistants)
    last_page = plan.crud_assistants // 20
    pages = [1, 2, 10, 100, 1000, last_page // 2, last_page]
    lists = [
        f"/api/assistants?page={p}&limit=20&sortBy={s}&order={o}"
        for p in pages
        for s in ("createdAt", "name", "lastUsed")
        for o in ("asc", "desc")
    ]
    first_pages = [p for p in lists if "page=1&" in p]
    gets = [f"/api/assistants/{i}" for i in ids]
    out: dict[str, list[dict[str, Any]]] = {"list": [], "list_first": [], "get": []}
    # Not counted: the API process loads each sort's order on the first deep pages it serves
    # (`shared.assistants.page_index`), and until then those pages walk the index (about 10 ms
    # of PostgreSQL each). The figures are the steady state; the report shows this run apart.
    out["list_warmup"] = [
        load.http(
            world.api_url, lists, headers=tenant.headers, connections=16, duration=plan.duration
        )
    ]
    warm = out["list_warmup"][0]
    log(f"crud list warm-up (not counted): {warm['rps']:.0f} rps p99 {warm['p99']:.1f} ms")
    for run in range(plan.runs):
        for key, paths in (("list", lists), ("list_first", first_pages), ("get", gets)):
            result = with_cpu(
                world,
                lambda paths=paths: load.http(
                    world.api_url,
                    paths,
                    headers=tenant.headers,
                    connections=16,
                    duration=plan.duration,
                ),
            )
            out[key].append(result)
            log(
                f"crud {key} run {run + 1}: {result['rps']:.0f} rps p99 {result['p99']:.1f} ms "
                f"non-2xx {result['non2xx']}"
            )
    random.shuffle(lists)
    return out


# -- target 7 ------------------------------------------------------------------------------
def limits(
    world: World, load: Load, plan: Plan, tenant: Any, rpm: int, window: float
) -> dict[str, Any]:
    """5x overload of a company's requests-per-window limit by async execute for 3 windows."""
    since = world.db_now()
    offered = load.python(
        world.api_url,
        [execute_path(tenant)],
        method="POST",
        body=BODY,
        headers={**tenant.headers, "Prefer": "respond-async"},
        connections=4,
        duration=120,
        requests=5 * rpm * 3,
    )
    time.sleep(max(0.0, 3 * window - offered["duration"]) + window)
    rows = world.sql(
        """SELECT extract(epoch FROM started_at) AS t FROM jobs
                        WHERE company_id = $1 AND created_at >= $2 AND started_at IS NOT NULL
                        ORDER BY started_at""",
        tenant.company_id,
        since,
    )
    world.cancel_pending(tenant.company_id)
    starts = [float(row["t"]) for row in rows]
    worst = 0
    j = 0
    for i, t in enumerate(starts):  # the busiest sliding window of `window` seconds
        while starts[j] <= t - window:
            j += 1
        worst = max(worst, i - j + 1)
    full = [t for t in starts if starts and t < starts[0] + 3 * window]
    return {
        "offered": offered,
        "worst_window": worst,
        "achieved": len(full) / (3 * rpm),
        "starts": len(starts),
    }
