"""`make bench`: run the benchmark suite against a private copy of the whole system.

Creates its own database and Redis key prefix, starts the emulator, the API, one Celery worker
(threads pool) and beat as subprocesses, measures every figure against a baseline taken in the
same run, tears everything down and writes docs/benchmarks.md.
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LIMIT_WINDOW = 5.0
PARTS = (
    "baselines",
    "noop",
    "admission",
    "batch",
    "concurrency",
    "light",
    "ingest",
    "isolation",
    "limits",
    "crud",
)


def configure_environment(run_id: str) -> None:
    """Before any project import: every process of the run reads these settings."""
    base = os.environ.get("BENCH_DATABASE_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432")
    from bench.processes import free_port

    os.environ.update(
        DATABASE_URL=f"{base}/assistants_bench_{run_id}",
        REDIS_KEY_PREFIX=f"assistants-bench-{run_id}",
        EMULATOR_PORT=str(free_port()),
        ENVIRONMENT="development",
        LOG_LEVEL="WARNING",
        LOG_JSON="false",
        # 200 provider calls at once in the worker (the "in-flight limit" of target 3), and the
        # dispatcher hands out a fifth more, which waits in the worker to replace calls as they end.
        WORKER_MAX_CALLS="200",
        DISPATCH_MAX_IN_FLIGHT="240",
        # The worker's DB pool is sized from this (//5, plus equal overflow): at 200 it may open
        # 80 connections, which with the API's 20 exceeds this machine's max_connections=100
        # (shared with other runs). The worker still runs 200 threads (World.WORKER_THREADS).
        WORKER_CONCURRENCY="50",
        # Target 7 needs several limiter windows in seconds; every other tenant has huge limits.
        LIMIT_WINDOW_SECONDS=str(LIMIT_WINDOW),
        LIMIT_WINDOW_MARGIN_SECONDS="0.3",
        # Every process of the run shares this host's clock; the default (0.25 s, for separate
        # hosts) is above half of this short margin and would re-stamp every synchronous job.
        LIMIT_CLOCK_SKEW_SECONDS="0.05",
        SYNC_WAIT_SECONDS="30",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    for name in ("OPENAI", "ANTHROPIC", "GOOGLE"):
        os.environ.pop(f"{name}_API_KEY", None)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"):
        os.environ.pop(name, None)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer items and shorter load runs (still 3 runs per figure)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply item counts and durations (a smoke test: 0.1)",
    )
    parser.add_argument("--no-wrk", action="store_true", help="use bench/loadgen.py, not wrk")
    parser.add_argument("--skip", default="", help=f"comma-separated, of: {','.join(PARTS)}")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts to run (for iterating on one target; the report says so)",
    )
    parser.add_argument("--output", default=str(REPO_ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    return parser.parse_args()


def main() -> int:
    args = parse()
    sys.path.insert(0, str(REPO_ROOT))
    os.chdir(REPO_ROOT)
    run_id = f"{os.getpid()}_{secrets.token_hex(3)}"
    configure_environment(run_id)

    from bench import pace, scenarios
    from bench.figures import build
    from bench.load import Load
    from bench.world import World

    plan = scenarios.Plan(runs=args.runs)
    if args.quick:
        plan.duration, plan.noop_tasks, plan.pipeline_batch = 6.0, 4000, 3000
        plan.light_requests = 200  # target 3 keeps 4,000 items: its first and last waves stay small
        plan.drain_timeout = 45.0  # a drain still running then is measured on what finished
    if args.scale != 1.0:
        for name in (
            "noop_tasks",
            "pipeline_batch",
            "concurrency_items",
            "light_requests",
            "isolation_requests",
            "ingest_items",
            "crud_assistants",
        ):
            setattr(plan, name, max(20, int(getattr(plan, name) * args.scale)))
        plan.duration = max(2.0, plan.duration * args.scale)
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    unknown = (skip | only) - set(PARTS)
    if unknown:
        sys.exit(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")

    def wanted(part: str) -> bool:
        return part not in skip and (not only or part in only)

    load = Load(use_wrk=not args.no_wrk)
    world = World()
    started = time.monotonic()
    results: dict[str, object] = {"plan": plan, "tool": load.tool, "argv": sys.argv[1:]}
    results["cpu_times"] = pace.CpuTimes.read()
    try:
        scenarios.log(f"run {run_id}: logs in {world.log_dir}; load by {load.tool}")
        world.create_database()
        results["pace"] = pace.measure(world.settings.redis_url, world.settings.sync_database_url)
        world.start("emulator")
        world.start("api")
        world.start("beat")
        world.start("interactive")  # idle unless a scenario sends synchronous requests
        tenants = {name: world.add_tenant(name) for name in ("admit", "batch", "interactive")}
        if wanted("baselines"):
            world.start("baseline")
            results["http_baselines"] = scenarios.http_baselines(world, load, plan)
            world.stop("baseline")
        # Target 2's batch figure is a ratio of two drains of a few seconds each, and this host's
        # speed drifts by a fifth within minutes: with both parts, each batch run follows a no-op
        # run, so that drift hits both sides of the ratio alike.
        paired = wanted("noop") and wanted("batch")
        noop_rates: list[float] = []
        results["noop"], results["noop_paired"] = noop_rates, paired
        if wanted("noop") and not paired:
            noop_rates += scenarios.noop_drain(world, plan)
        if wanted("admission"):
            results["admission"], results["async_drain"] = scenarios.admission_and_async_pipeline(
                world, load, plan, tenants["admit"]
            )
        if wanted("batch"):
            results["batch_drain"] = scenarios.batch_pipeline(
                world,
                plan,
                tenants["batch"],
                before_each=(
                    (lambda run: noop_rates.append(scenarios.noop_drain_run(world, plan, run)))
                    if paired
                    else None
                ),
            )
        if wanted("concurrency"):
            world.start("worker")
            results["concurrency"] = scenarios.concurrency(world, plan, tenants["batch"])
        if wanted("light"):
            world.start("worker")
            results["direct"], results["sync"] = scenarios.light_latency(
                world, load, plan, tenants["interactive"]
            )
        if wanted("ingest"):
            results["ingest"] = scenarios.ingest(world, plan, tenants["batch"])
        if wanted("isolation"):
            results["isolation"] = scenarios.isolation(
                world, load, plan, tenants["interactive"], tenants["batch"]
            )
        if wanted("limits"):
            rpm = 50
            limited = world.add_tenant("limited", rpm=rpm)
            world.start("worker")
            results["limits"] = scenarios.limits(world, load, plan, limited, rpm, LIMIT_WINDOW)
            results["limits_rpm"] = rpm
        if wanted("crud"):
            world.stop("worker")
            crud_tenant = world.add_tenant("crud")
            results["crud"] = scenarios.crud(world, load, plan, crud_tenant, {})
        results["background_idle_group"] = world.background_in_idle_group
        results["server_version"] = world.sql("SHOW server_version")[0][0]
        results["autovacuum"] = world.sql("SHOW autovacuum")[0][0]
    except Exception as exc:  # write what was measured, and say where it stopped
        import traceback

        traceback.print_exc()
        results["error"] = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        results["elapsed"] = time.monotonic() - started
        results["cpu_times_end"] = pace.CpuTimes.read()
        world.close(keep_database=args.keep_db)
    Path(args.output).write_text(build(results, args))
    scenarios.log(f"done in {results['elapsed']:.0f}s; wrote {args.output}")
    return 1 if results.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
