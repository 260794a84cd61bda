"""What the limiter's token estimate needs of an assistant, remembered per API process.

Why: a synchronous execute read the assistant (its prompt's length and `maxTokens`) before asking
the limiter, then wrote the job with an INSERT ... SELECT that reads the assistant again: one
PostgreSQL round trip of the request's path (0.44 ms of a synchronous request's 8-12 ms of
overhead in the benchmark's probes) for two numbers that rarely change. The insert returns them
as they are now, and every admission stores them here, so a change of the prompt or of
`maxTokens` reaches the estimate from the second request each API process admits after it.
The job itself never uses these: its row takes provider, model, prompt version and `maxTokens`
from the assistant in the insert's own snapshot.

An entry is keyed by company and assistant, so it can only answer the company that read it; a
deleted assistant's entry is dropped by the 404 its next request gets (that one request is
counted by the limiter's request log, its tokens and concurrency slot handed back).
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_ENTRIES = 10_000  # about 1.5 MB per process
MAX_AGE_SECONDS = 60.0  # hygiene only: every admission refreshes its entry


@dataclass(frozen=True, slots=True)
class Sizes:
    prompt_chars: int
    max_tokens: int | None


class AssistantSizes:
    """A bounded map (least recently stored dropped first) whose entries expire."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_age_seconds: float = MAX_AGE_SECONDS
    ) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[float, Sizes]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_seconds

    def get(self, company_id: str, assistant_id: str) -> Sizes | None:
        entry = self._entries.get((company_id, assistant_id))
        if entry is None:
            return None
        stored, sizes = entry
        if time.monotonic() - stored > self._max_age:
            del self._entries[(company_id, assistant_id)]
            return None
        return sizes

    def put(self, company_id: str, assistant_id: str, sizes: Sizes) -> None:
        key = (company_id, assistant_id)
        self._entries[key] = (time.monotonic(), sizes)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def drop(self, company_id: str, assistant_id: str) -> None:
        self._entries.pop((company_id, assistant_id), None)
