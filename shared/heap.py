"""Garbage-collector settings for the long-running processes (API and Celery workers).

CPython's full collection walks every tracked object, and after start-up that means hundreds of
thousands that live as long as the process: FastAPI, pydantic, SQLAlchemy and Celery internals.
Under the CRUD benchmark the API ran a full collection every few seconds at 70-100 ms each, with
the event loop stopped: that pause was the whole p99 tail (p50 13 ms, p99 65-80 ms). Freezing what
exists once start-up is done moves those objects out of the collector's sight (they are never
garbage), so later collections only walk what requests create.
"""

import gc

import structlog

logger = structlog.get_logger(__name__)

# Young collections this much rarer than CPython's default (700 allocations): a request allocates
# a few thousand objects, nearly all freed by reference counting, so the default ran a collection
# every fraction of a request for nothing.
YOUNG_THRESHOLD = 20_000


def freeze_startup_heap() -> None:
    """Call once, after start-up and before serving."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    logger.debug("start-up heap frozen", objects=gc.get_freeze_count())
