"""Command line: ``python -m emulator --host 127.0.0.1 --port 8090 [--latency-ms N]``."""

from __future__ import annotations

import argparse

import uvicorn

from emulator import BANNER
from emulator.app import create_app
from emulator.state import DEFAULT_MAX_RECORDS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """CLI options; everything else is adjustable at runtime through ``/_emulator/config``."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="global added latency")
    parser.add_argument("--max-records", type=int, default=DEFAULT_MAX_RECORDS)
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Print the banner (so nobody mistakes emulated answers for real ones) and serve."""
    args = parse_args(argv)
    print(f"*** {BANNER} (http://{args.host}:{args.port}) ***", flush=True)
    uvicorn.run(
        create_app(latency_ms=args.latency_ms, max_records=args.max_records),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        backlog=4096,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
