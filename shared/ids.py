"""Identifiers: 24 lowercase hex characters, time-ordered like MongoDB ObjectIds.

Four bytes of Unix seconds, five random bytes fixed per process and a three-byte counter, so
ids sort by creation time, never collide across processes, and need no database round trip.
"""

import itertools
import os
import threading
import time

_process_random = os.urandom(5)
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()


def _reseed() -> None:
    """A forked child (Celery prefork, uvicorn workers) must not share its parent's bytes."""
    global _process_random, _counter
    _process_random = os.urandom(5)
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))


os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _process_random + count.to_bytes(3, "big")).hex()


def is_id(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdef" for c in value)
