"""The attribution of target 6's scheduling delays (bench/sched_trace.py), on a hand-made trace."""

from bench.sched_trace import attribute

HEADER = """           time    cpu  task name                       wait time  sch delay   run time
                        [tid/pid]                          (msec)     (msec)     (msec)
--------------- ------  ------------------------------  ---------  ---------  ---------
"""


def line(end_s: float, cpu: int, task: str, delay_ms: float, run_ms: float) -> str:
    return f"{end_s:15.6f} [{cpu:04d}]  {task:<30}  {0:9.3f}  {delay_ms:9.3f}  {run_ms:9.3f}\n"


KNOWN = {100: "api", 200: "worker", 300: "pg:worker", 400: "pg:interactive"}


def test_a_long_wait_is_blamed_on_what_ran_on_its_cpu_meanwhile() -> None:
    # CPU 0: the batch's backend runs 10.000-12.500 s*1000; the API thread, woken at 10.0005 s,
    # waited 2.0 ms and then ran 0.5 ms. CPU 1: the background worker, unrelated to the wait.
    trace = HEADER + "".join(
        [
            line(10.0025, 0, "postgres[300]", 0.0, 2.5),
            line(10.0030, 0, "python[101/100]", 2.0, 0.5),
            line(10.0030, 1, "python[201/200]", 0.0, 3.0),
        ]
    )
    waits = attribute(trace, KNOWN, seconds=1.0)
    assert waits.long_waits == 1
    assert round(waits.long_ms, 3) == 2.0
    assert round(waits.held_by["pg:worker"], 3) == 2.0  # 10.0005-10.0025 s on CPU 0
    assert waits.held_by["worker"] == 0
    assert round(waits.cpu_ms["worker"], 3) == 3.0


def test_short_waits_count_but_blame_nobody() -> None:
    trace = (
        HEADER + line(5.0010, 1, "postgres[400]", 0.4, 0.6) + line(5.0004, 1, "sleep[9]", 0, 0.4)
    )
    waits = attribute(trace, KNOWN, seconds=1.0)
    assert waits.long_waits == 0
    assert round(waits.delay_ms, 3) == 0.4
    assert not waits.held_by


def test_processes_off_the_interactive_path_are_not_counted_as_waiting() -> None:
    trace = HEADER + line(3.0050, 0, "python[201/200]", 4.0, 1.0)  # the batch worker waited
    waits = attribute(trace, KNOWN, seconds=1.0)
    assert waits.delay_ms == 0 and waits.long_waits == 0
