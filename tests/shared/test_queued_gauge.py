"""The queued-jobs gauge: exact near the cap, a count per second far below it."""

from shared.limits import queued as queued_module
from shared.limits.queued import QueuedGauge


class Queue:
    """A company's queue as the database would count it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.counts = 0

    async def count(self, company_id: str) -> int:
        self.counts += 1
        return self.size


async def test_far_below_the_cap_one_count_serves_many_requests():
    queue = Queue(10)
    gauge = QueuedGauge(queue.count)

    assert all([await gauge.take("c", cap=1_000) for _ in range(50)])
    assert queue.counts == 1


async def test_near_the_cap_every_request_counts_and_the_cap_holds():
    queue = Queue(95)
    gauge = QueuedGauge(queue.count)
    admitted = 0
    for _ in range(10):
        if await gauge.take("c", cap=100):
            admitted += 1
            queue.size += 1  # the job is written

    assert admitted == 5 and queue.size == 100
    assert queue.counts == 10


async def test_a_stale_reading_is_counted_again(monkeypatch):
    queue = Queue(0)
    gauge = QueuedGauge(queue.count)
    now = [1000.0]
    monkeypatch.setattr(queued_module.time, "monotonic", lambda: now[0])
    await gauge.take("c", cap=1_000)
    queue.size = 1_000  # other processes filled the queue meanwhile

    now[0] += queued_module.FRESH_SECONDS + 0.1

    assert not await gauge.take("c", cap=1_000)
    assert queue.counts == 2


async def test_companies_are_counted_apart():
    queue = Queue(0)
    gauge = QueuedGauge(queue.count)
    await gauge.take("a", cap=10)
    await gauge.take("b", cap=10)
    assert queue.counts == 2


async def test_concurrent_requests_share_one_count():
    import asyncio

    class SlowQueue(Queue):
        async def count(self, company_id: str) -> int:
            self.counts += 1
            await asyncio.sleep(0.05)
            return self.size

    queue = SlowQueue(0)
    gauge = QueuedGauge(queue.count)

    results = await asyncio.gather(*(gauge.take("c", cap=1_000) for _ in range(64)))

    assert all(results) and queue.counts == 1


async def test_concurrent_requests_near_the_cap_do_not_overshoot_it():
    import asyncio

    queue = Queue(97)
    gauge = QueuedGauge(queue.count)

    results = await asyncio.gather(*(gauge.take("c", cap=100) for _ in range(20)))

    assert sum(results) == 3
