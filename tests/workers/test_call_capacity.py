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


async def test_a_waiting_chunk_starts_once_its_minimum_part_is_free():
    capacity = CallCapacity(6, min_part=3)
    running = await capacity.take(6)
    chunk = asyncio.create_task(capacity.take(20))
    await asyncio.sleep(0)

    running.release_one()
    running.release_one()  # two free: not yet a part of three
    await asyncio.sleep(0)
    assert not chunk.done() and capacity.free == 2

    running.release_one()
    await asyncio.sleep(0)
    assert chunk.done() and (await chunk).held == 3 and capacity.free == 0


async def test_a_chunk_with_fewer_jobs_than_the_minimum_part_needs_room_for_those_only():
    capacity = CallCapacity(6, min_part=4)
    running = await capacity.take(5)  # one free

    assert (await capacity.take(1)).held == 1  # its last job: it needs no more than that
    small = asyncio.create_task(capacity.take(2))
    behind = asyncio.create_task(capacity.take(1))
    await asyncio.sleep(0)
    running.release_one()  # one free: the head wants two, and no one overtakes it
    await asyncio.sleep(0)
    assert not small.done() and not behind.done()

    running.release_one()
    await asyncio.sleep(0)
    assert (await small).held == 2 and not behind.done()


async def test_the_minimum_part_is_never_more_than_the_limit():
    capacity = CallCapacity(2, min_part=10)

    assert capacity.min_part == 2
    assert (await capacity.take(20)).held == 2


async def test_an_interactive_job_waits_ahead_of_every_chunk():
    capacity = CallCapacity(4, min_part=2)
    running = await capacity.take(4)
    chunk = asyncio.create_task(capacity.take(10))
    await asyncio.sleep(0)
    interactive = asyncio.create_task(capacity.take(1, urgent=True))
    await asyncio.sleep(0)

    running.release_one()  # the chunk waits for two; the interactive job needs one
    await asyncio.sleep(0)
    assert interactive.done() and (await interactive).held == 1 and not chunk.done()

    running.release_one()
    running.release_one()
    await asyncio.sleep(0)
    assert chunk.done() and (await chunk).held == 2


async def test_an_interactive_job_starts_at_once_while_a_chunk_waits_for_more():
    capacity = CallCapacity(3, min_part=3)
    running = await capacity.take(2)  # one free
    chunk = asyncio.create_task(capacity.take(10))
    await asyncio.sleep(0)

    assert (await capacity.take(1, urgent=True)).held == 1
    assert not chunk.done()
    running.release_all()
    await asyncio.sleep(0)
    assert not chunk.done()  # two free: the chunk still waits for its three
