"""The worker's gate on provider calls in flight: first come, first served, partial grants."""

import asyncio

import pytest

from workers.jobs.capacity import CallCapacity


async def test_a_chunk_takes_what_is_free_and_the_rest_waits_its_turn():
    capacity = CallCapacity(5)
    first = await capacity.take(3)
    second = await capacity.take(4)  # only 2 are free: it starts with 2

    assert (first.held, second.held, capacity.free) == (3, 2, 0)

    third = asyncio.create_task(capacity.take(2))
    fourth = asyncio.create_task(capacity.take(1))
    await asyncio.sleep(0)
    assert not third.done() and not fourth.done()

    first.release_one()  # one call ended: the head of the queue gets it, not the later one
    await asyncio.sleep(0)
    assert third.done() and (await third).held == 1 and not fourth.done()

    first.release_all()  # the other two: the next waiter gets what it asked for
    await asyncio.sleep(0)
    assert fourth.done() and (await fourth).held == 1 and capacity.free == 1


async def test_room_a_part_will_not_call_with_is_given_back_at_once():
    capacity = CallCapacity(4)
    room = await capacity.take(4)

    room.keep(1)  # three of its jobs were gone or failed before calling

    assert (room.held, capacity.free) == (1, 3)
    room.release_one()
    room.release_one()  # nothing more to give back: never more room than the limit
    assert capacity.free == 4


async def test_a_cancelled_waiter_does_not_keep_room():
    capacity = CallCapacity(1)
    held = await capacity.take(1)
    cancelled = asyncio.create_task(capacity.take(1))
    behind = asyncio.create_task(capacity.take(1))
    await asyncio.sleep(0)

    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    held.release_all()
    await asyncio.sleep(0)

    assert behind.done() and (await behind).held == 1 and capacity.free == 0


async def test_room_granted_to_a_waiter_cancelled_before_it_ran_comes_back():
    capacity = CallCapacity(1)
    held = await capacity.take(1)
    waiter = asyncio.create_task(capacity.take(1))
    await asyncio.sleep(0)

    held.release_all()  # granted to the waiter...
    waiter.cancel()  # ...which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert capacity.free == 1
