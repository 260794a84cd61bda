"""`make bench`: the benchmark suite (see docs/benchmarks.md and bench/run.py)."""
