"""Ids: 24 lowercase hex characters, ordered by creation time, unique across threads and forks."""

import itertools
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared import ids
from shared.ids import is_id, new_id

HEX24 = re.compile(r"^[0-9a-f]{24}$")


def test_ids_are_24_lowercase_hex_characters():
    for value in (new_id() for _ in range(1000)):
        assert HEX24.match(value), value
        assert is_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "681b41850f470a9a746f280",
        "681b41850f470a9a746f280e0",
        "681B41850F470A9A746F280E",
        "681b41850f470a9a746f280g",
        "681b41850f470a9a746f28 e",
        "\uff16\uff18\uff11b41850f470a9a746f280e",  # full-width digits
    ],
)
def test_is_id_refuses_anything_else(value):
    assert not is_id(value)


def test_ids_start_with_the_creation_second():
    before = int(time.time())
    value = new_id()
    after = int(time.time())

    assert before <= int(value[:8], 16) <= after


def test_ids_are_unique_and_sorted_in_the_order_they_were_made(monkeypatch):
    monkeypatch.setattr(ids, "_counter", itertools.count(0x100000))  # far from the 24-bit wrap
    made = [new_id() for _ in range(10_000)]

    assert len(set(made)) == len(made)
    assert made == sorted(made)


def test_a_later_second_sorts_after_even_when_the_counter_wraps(monkeypatch):
    clock = iter([1_700_000_000, 1_700_000_001])
    monkeypatch.setattr(ids.time, "time", lambda: next(clock))
    monkeypatch.setattr(ids, "_counter", itertools.count(0xFFFFFF))

    first, second = new_id(), new_id()

    assert second[-6:] == "000000" and first[-6:] == "ffffff"
    assert first < second


def test_ids_are_unique_across_threads():
    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(lambda _: [new_id() for _ in range(2000)], range(8)))

    made = [value for batch in batches for value in batch]
    assert len(set(made)) == len(made) == 16_000


def test_a_forked_process_does_not_repeat_its_parents_ids():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave without running pytest's teardown
        os.write(write_end, new_id().encode())
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 24).decode()
    os.close(read_end)
    os.waitpid(pid, 0)

    parent = new_id()

    assert is_id(child)
    assert child[8:18] != parent[8:18]  # the per-process random bytes were redrawn
