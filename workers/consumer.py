"""The workers' Celery consumer (`worker_consumer`): task events published on a timer, in batches.

Celery's consumer publishes each task event as it happens: `task-received` right after it hands a
message to the pool, `task-started` as soon as a pool thread picks the task up (the thread wakes the
consumer to publish it), each one Redis PUBLISH from the consumer's thread while the task's own
thread and our event loop wait for the interpreter. On the path of every synchronous request that
cost about half a millisecond (stage probes, docs/benchmarks.md: the message's receipt to the
task's start 0.84 → 0.55 ms, the task's start to our event loop 0.48 → 0.25 ms). Here the events
wait in Celery's own buffer and go out every `WORKER_TASK_EVENTS_FLUSH_SECONDS` as one
`task.multi` message (Celery's batching, which Flower and every event receiver read); Flower
learns of a task at most that much later, and sees every event as before. A burst that fills the
buffer (Celery's limit, 24 events) still goes out at once.
"""

import contextlib
from typing import Any

from celery.worker.consumer import Consumer
from kombu.asynchronous.hub import Hub


class BatchedEventsConsumer(Consumer):
    """Set `flush_seconds` before the worker starts (`workers.celery_app`)."""

    flush_seconds = 0.1
    _flush_timer: Any = None

    def on_send_event_buffered(self) -> None:
        """Called by the thread that sent the event: nothing to do now, the timer publishes it."""

    def register_with_event_loop(self, hub: Hub) -> None:
        """Runs each time the consumer's loop starts (again after a lost broker connection)."""
        super().register_with_event_loop(hub)
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_timer = hub.call_repeatedly(self.flush_seconds, self._flush_events)

    def shutdown(self) -> None:
        """Publish what the timer has not yet (a warm shutdown's last tasks), then stop."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        with contextlib.suppress(Exception):  # the broker may be gone: events are best-effort
            self._flush_events()
        super().shutdown()
