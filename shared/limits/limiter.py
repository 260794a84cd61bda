"""The per-company limiter: sliding-window logs in Redis, run atomically by Lua scripts.

Why sliding-window logs rather than GCRA or a token bucket: the promise is that *no* minute
window ever holds more than the company's requests or tokens; a bucket allows a burst of its
capacity on top of its refill inside one window. The log's cost is O(jobs in the window) in
memory, which the RPM limit itself bounds; a call costs O(jobs leaving the window), since the
token log keeps its running sum. One script call decides all three limits at once, so any
number of API and worker processes on any number of machines share one exact view.

A job is counted when it is admitted, but the provider sees it when a worker calls: the worker
re-stamps late jobs right before the call (`restamp_many`), so a loaded machine that is slow to
start calls can't push more calls into a window than the limit.
"""

import time
from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.config import Settings
from shared.limits.schemas import Decision, Limits

_HERE = Path(__file__).parent


class Limiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._settings = settings
        self._acquire = redis.register_script((_HERE / "acquire.lua").read_text())
        self._settle = redis.register_script((_HERE / "settle.lua").read_text())
        self._restamp = redis.register_script((_HERE / "restamp.lua").read_text())
        self.window_ms = int(
            (settings.limit_window_seconds + settings.limit_window_margin_seconds) * 1000
        )
        self.lease_ms = int(settings.job_lease_seconds * 1000) * settings.provider_max_attempts
        self.move_after_ms = int(settings.limit_window_margin_seconds * 1000 / 2)

    def _keys(self, company_id: str) -> list[str]:
        base = self._settings.key("limits", "{" + company_id + "}")
        return [f"{base}:requests", f"{base}:tokens", f"{base}:amounts", f"{base}:running"]

    async def _call(
        self,
        company_id: str,
        limits: Limits,
        jobs: Sequence[tuple[str, int]],
        dry_run: bool,
        send: tuple[str, bytes] | None = None,
    ) -> tuple[int, Decision]:
        keys = self._keys(company_id)
        args: list[str | int | bytes] = [
            self.window_ms,
            limits.rpm,
            limits.tpm,
            limits.concurrency,
            self.lease_ms,
            1 if dry_run else 0,
        ]
        if send is not None:
            keys.append(send[0])
            args.append(send[1])
        for job_id, tokens in jobs:
            args += [job_id, max(0, tokens)]
        raw = await self._acquire(keys=keys, args=args)
        admitted, wait_ms, which, requests, used, running, reset_ms = raw
        decision = Decision(
            allowed=int(admitted) >= len(jobs),
            retry_after=int(wait_ms) / 1000,
            limit=which.decode() if isinstance(which, bytes) else str(which),
            requests=int(requests),
            tokens=int(used),
            running=int(running),
            reset=int(reset_ms) / 1000,
        )
        return int(admitted), decision

    async def acquire(
        self,
        company_id: str,
        limits: Limits,
        job_id: str,
        tokens: int,
        *,
        dry_run: bool = False,
        send: tuple[str, bytes] | None = None,
    ) -> Decision:
        """Admit the job under all three limits (or, with dry_run, only report the state).

        `send`: (a Redis list, a message) pushed onto it in the same atomic call if the job is
        admitted, nothing if it is refused. The list must live on this limiter's Redis.
        """
        _, decision = await self._call(company_id, limits, [(job_id, tokens)], dry_run, send)
        return decision

    async def acquire_many(
        self, company_id: str, limits: Limits, jobs: Sequence[tuple[str, int]]
    ) -> int:
        """Admit (job id, tokens) in order up to the first a limit refuses, in one atomic call;
        returns how many were admitted (a prefix of `jobs`)."""
        if not jobs:
            return 0
        admitted, _ = await self._call(company_id, limits, jobs, False)
        return admitted

    async def restamp_many(self, company_id: str, job_ids: Sequence[str]) -> list[str]:
        """Right before the calls: bring old stamps up to now (see restamp.lua); returns the
        jobs that have left the window, which must be admitted again before they may run."""
        if not job_ids:
            return []
        requests, tokens, _, running = self._keys(company_id)
        lost = await self._restamp(
            keys=[requests, tokens, running],
            args=[self.window_ms, self.move_after_ms, self.lease_ms, *job_ids],
        )
        return [job_id.decode() if isinstance(job_id, bytes) else job_id for job_id in lost]

    def restamp_may_change(self, admitted_before: float | None) -> bool:
        """Whether `restamp_many` could change anything for jobs this limiter admitted after
        `admitted_before` (the API's clock, Unix seconds, read before it asked; None: unknown).

        A stamp is never older than that reading, and the re-stamp only moves stamps older than
        `move_after` (or reports those older than the window): while the reading, corrected for
        the clocks' possible skew (`LIMIT_CLOCK_SKEW_SECONDS`), is that recent, the re-stamp
        would only read. Skipping it saves a Redis round trip on every synchronous job.
        """
        if admitted_before is None:
            return True
        age = time.time() - admitted_before + self._settings.limit_clock_skew_seconds
        return age * 1000 >= self.move_after_ms

    async def settle(self, company_id: str, job_id: str, tokens: int) -> None:
        """The call is over: book its real tokens and free its concurrency slot."""
        await self.settle_many(company_id, [(job_id, tokens)])

    def _settle_keys_and_args(
        self, company_id: str, jobs: Sequence[tuple[str, int]]
    ) -> tuple[list[str], list[str | int]]:
        keys = self._keys(company_id)
        args: list[str | int] = []
        for job_id, tokens in jobs:
            args += [job_id, max(0, tokens)]
        return [keys[2], keys[3]], args

    async def settle_many(self, company_id: str, jobs: Sequence[tuple[str, int]]) -> None:
        """Settle several of a company's jobs in one call: (job id, real tokens). Settling a job
        twice changes nothing."""
        if not jobs:
            return
        keys, args = self._settle_keys_and_args(company_id, jobs)
        await self._settle(keys=keys, args=args)

    def queue_settle(
        self, pipe: Pipeline, company_id: str, jobs: Sequence[tuple[str, int]]
    ) -> None:
        """`settle_many` queued on the caller's pipeline, to share its round trip. By the script's
        sha alone: a registered script would make the pipeline ask SCRIPT EXISTS first, a round
        trip more. A server that lost its scripts (a restart) fails the pipeline's execute with
        NoScriptError; the caller then settles again with `settle_many`, which loads the script."""
        if jobs:
            keys, args = self._settle_keys_and_args(company_id, jobs)
            pipe.evalsha(self._settle.sha, len(keys), *keys, *args)
