"""The per-process map of assistants' sizes: keyed by company, bounded, expiring."""

import time

from shared.jobs.assistant_sizes import AssistantSizes, Sizes


def test_an_entry_answers_only_the_company_that_stored_it():
    known = AssistantSizes()
    known.put("company-a", "assistant-1", Sizes(prompt_chars=40, max_tokens=100))

    assert known.get("company-a", "assistant-1") == Sizes(40, 100)
    assert known.get("company-b", "assistant-1") is None


def test_a_store_replaces_and_a_drop_forgets():
    known = AssistantSizes()
    known.put("c", "a", Sizes(40, 100))
    known.put("c", "a", Sizes(40, 8_000))
    assert known.get("c", "a") == Sizes(40, 8_000)

    known.drop("c", "a")
    known.drop("c", "never-stored")  # nothing to drop: no error
    assert known.get("c", "a") is None


def test_the_least_recently_stored_entry_goes_first_past_the_bound():
    known = AssistantSizes(max_entries=2)
    known.put("c", "a", Sizes(1, 1))
    known.put("c", "b", Sizes(2, 2))
    known.put("c", "a", Sizes(1, 1))  # stored again: now the most recent
    known.put("c", "d", Sizes(3, 3))

    assert known.get("c", "b") is None
    assert known.get("c", "a") == Sizes(1, 1)
    assert known.get("c", "d") == Sizes(3, 3)


def test_an_entry_older_than_its_age_is_not_used():
    known = AssistantSizes(max_age_seconds=0.05)
    known.put("c", "a", Sizes(1, None))
    assert known.get("c", "a") == Sizes(1, None)

    time.sleep(0.06)
    assert known.get("c", "a") is None
