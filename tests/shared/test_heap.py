"""The start-up heap is frozen, so a full collection no longer walks the process's libraries."""

import gc

from shared.heap import YOUNG_THRESHOLD, freeze_startup_heap


def test_objects_alive_at_start_up_are_left_out_of_later_collections():
    threshold = gc.get_threshold()
    startup_objects = [[index] for index in range(1_000)]
    try:
        freeze_startup_heap()

        assert gc.get_freeze_count() >= len(startup_objects)
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(obj) in tracked for obj in startup_objects)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        later = [0]
        assert gc.is_tracked(later) and id(later) in {id(obj) for obj in gc.get_objects()}
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
