"""A separate-process load generator: asyncio + httpx (or the official openai SDK).

Used where wrk is missing, and always for light-load latency (1-4 connections), so the product
and its baseline are measured by the same client. Prints one JSON line:
{"requests", "errors", "duration", "rps", "p50", "p99", "statuses"} (latencies in ms).
"""

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path

import httpx


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _http_call(args: argparse.Namespace, client: httpx.AsyncClient, path: str) -> int:
    content = args.body.encode() if args.body else None
    response = await client.request(args.method, path, content=content)
    return response.status_code


async def _sdk_call(args: argparse.Namespace, client: object, _: str) -> int:
    await client.chat.completions.create(  # type: ignore[attr-defined]
        model=args.model, messages=[{"role": "user", "content": "Hello, how are you?"}]
    )
    return 200


async def main(args: argparse.Namespace) -> dict[str, object]:
    paths = args.paths
    headers = dict(h.split(":", 1) for h in args.header)
    if args.sdk:
        from openai import AsyncOpenAI

        client: object = AsyncOpenAI(api_key="emulated", base_url=args.url, max_retries=0)
        call = _sdk_call
    else:
        client = httpx.AsyncClient(
            base_url=args.url,
            headers={"Content-Type": "application/json", **headers},
            timeout=60,
            limits=httpx.Limits(max_connections=args.connections),
        )
        call = _http_call
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    started = time.perf_counter()
    deadline = started + args.duration
    remaining = [args.requests]

    async def one_connection() -> None:
        nonlocal errors
        while time.perf_counter() < deadline and remaining[0] != 0:
            remaining[0] -= 1
            t0 = time.perf_counter()
            try:
                status = await call(args, client, random.choice(paths))
            except Exception:  # a failed request counts as an error, the run goes on
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[status] += 1
            if status >= 400:
                errors += 1

    for _ in range(args.warmup):
        await call(args, client, paths[0])
    started = time.perf_counter()
    deadline = started + args.duration
    await asyncio.gather(*(one_connection() for _ in range(args.connections)))
    duration = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "warmup": args.warmup,
        "errors": errors,
        "duration": duration,
        "rps": len(latencies) / duration,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "statuses": dict(statuses),
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="base URL")
    parser.add_argument("--path", default="/")
    parser.add_argument("--paths-file", help="one path per line, picked at random per request")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[], help="Name:value")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=-1, help="stop after this many")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--sdk", action="store_true", help="call chat.completions via openai")
    parser.add_argument("--model", default="gpt-4o")
    args = parser.parse_args()
    args.paths = Path(args.paths_file).read_text().split() if args.paths_file else [args.path]
    return args


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(main(parse()))))
