"""CPU per request by process (bench/cpu.py): the arithmetic on snapshots, and a real /proc read."""

import os
import time

from bench.cpu import REST, per_request, snapshot


def test_per_request_takes_deltas_pid_by_pid_and_leaves_the_rest_to_the_machine() -> None:
    before = {"API": {10: 1.0}, "PostgreSQL": {20: 5.0, 21: 9.0}, REST: {0: 100.0}}
    # Backend 21 closed during the run, backend 22 opened in it: 21 must not pull the sum down.
    after = {"API": {10: 1.5}, "PostgreSQL": {20: 5.1, 22: 0.2}, REST: {0: 101.0}}
    ms = per_request(before, after, requests=100)
    assert round(ms["API"], 6) == 5.0
    assert round(ms["PostgreSQL"], 6) == 3.0
    assert round(ms[REST], 6) == 2.0  # 10 ms of machine time less the 8 ms named


def test_no_requests_gives_no_figures() -> None:
    assert per_request({REST: {0: 1.0}}, {REST: {0: 2.0}}, requests=0) == {}


def test_snapshot_reads_this_process_and_the_machine_from_proc() -> None:
    me = os.getpid()
    first = snapshot({"test": [me]})
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    second = snapshot({"test": [me]})
    spent = per_request(first, second, requests=1)
    assert spent["test"] >= 150  # 200 ms of CPU, read at the clock tick's resolution
    assert second[REST][0] > first[REST][0]
