"""The reaper: finds jobs whose worker died or whose queue message was lost, from PostgreSQL.

PostgreSQL is the source of truth; Redis only carries wake-up messages. A running job whose lease
expired (its worker was killed) is queued again, or failed once it has been delivered too often;
a queued job whose message has not been picked up for a long time (Redis restarted, message lost)
is sent again. Duplicates are harmless: a job is claimed at most once at a time.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.jobs.lifecycle import release_next_in_session
from shared.models import Job

MAX_DELIVERIES = 5


@dataclass(frozen=True, slots=True)
class Sweep:
    requeue: list[tuple[str, str]]  # (job id, kind) to send to the broker after commit
    failed: int


async def sweep(session: AsyncSession, stale_after: timedelta) -> Sweep:
    now = utcnow()
    expired = and_(Job.status == "running", Job.lease_expires_at < now)
    failed = (
        await session.execute(
            update(Job)
            .where(expired, Job.deliveries >= MAX_DELIVERIES)
            .values(
                status="failed",
                error_code="WORKER_LOST",
                error_message=f"The job's worker stopped {MAX_DELIVERIES} times; giving up",
                finished_at=now,
                claim_token=None,
            )
            .returning(Job.session_id)
        )
    ).all()
    requeue: list[tuple[str, str]] = []
    for (session_id,) in failed:
        if session_id and (released := await release_next_in_session(session, session_id)):
            requeue.append(released)
    # Back to where each kind enters: interactive jobs straight to a worker, others to the
    # dispatcher (enqueued_at NULL), which admits them under the limits again.
    entry = case((Job.kind == "interactive", now), else_=None)
    lost_workers = await session.execute(
        update(Job)
        .where(expired)
        .values(status="queued", claim_token=None, lease_expires_at=None, enqueued_at=entry)
        .returning(Job.id, Job.kind)
    )
    requeue.extend((row.id, row.kind) for row in lost_workers)
    stale = (
        update(Job)
        .where(
            Job.status == "queued",
            ~Job.blocked,
            Job.enqueued_at < now - stale_after,
        )
        .values(enqueued_at=entry)
        .returning(Job.id, Job.kind)
    )
    requeue.extend((row.id, row.kind) for row in await session.execute(stale))
    return Sweep(requeue=requeue, failed=len(failed))
