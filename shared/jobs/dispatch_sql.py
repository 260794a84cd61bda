"""The dispatcher's statements, as SQL text.

Why not the ORM: a round runs whenever chunks finish, and its five ORM statements took 12-17% of
the worker's event loop during a batch drain, a third as much as the SDK calls they fed (py-spy). The conditions are those of the partial index ix_jobs_pending (`NOT blocked`, see
`PENDING`) and of ix_jobs_open.
"""

from sqlalchemy import text

# The fleet's dispatched jobs: handed to workers and not finished (ix_jobs_open).
_IN_FLIGHT = """SELECT count(*) FROM jobs
             WHERE status IN ('queued', 'running') AND enqueued_at IS NOT NULL
               AND kind <> 'interactive'"""
IN_FLIGHT = text(_IN_FLIGHT)

# The jobs in flight and every company with waiting jobs, with its limits.
# The companies come from a loose index scan of ix_jobs_pending, one company at a time: its cost
# grows with the number of companies, not of waiting jobs. No row: nothing waits.
START = text(
    f"""
    WITH RECURSIVE waiting(company_id) AS (
        (SELECT company_id FROM jobs
          WHERE status = 'queued' AND enqueued_at IS NULL AND NOT blocked
          ORDER BY company_id LIMIT 1)
        UNION ALL
        SELECT (SELECT j.company_id FROM jobs j
                 WHERE j.status = 'queued' AND j.enqueued_at IS NULL AND NOT j.blocked
                   AND j.company_id > waiting.company_id
                 ORDER BY j.company_id LIMIT 1)
          FROM waiting WHERE waiting.company_id IS NOT NULL
    )
    SELECT ({_IN_FLIGHT}) AS in_flight,
           w.company_id, c.rpm_limit, c.tpm_limit, c.concurrency_limit, c.max_queued
      FROM waiting w LEFT JOIN companies c ON c.id = w.company_id
     WHERE w.company_id IS NOT NULL
    """
)

# Run first in a round's transaction: `NEXT_JOBS` must walk ix_jobs_pending in order and stop at
# its LIMIT. With statistics taken while nothing was queued, the planner estimates one waiting job
# and prefers reading them all through ix_jobs_company_queued and sorting: 84-150 ms a round with
# 20,000 jobs waiting, against 0.4 ms (EXPLAIN ANALYZE, docs/benchmarks.md). No other statement
# of the round sorts.
ORDERED_SCANS = text("SET LOCAL enable_sort = off")

# A company's oldest waiting jobs with what the limiter's token estimate needs, locked so that a
# second dispatcher (after a lost lock) skips them.
NEXT_JOBS = text(
    """
    SELECT j.id, j.kind, j.max_tokens,
           length(j.input ->> 'userInput') AS input_chars, length(a.llm_prompt) AS prompt_chars
      FROM jobs j JOIN assistants a ON a.id = j.assistant_id
     WHERE j.company_id = :company_id
       AND j.status = 'queued' AND j.enqueued_at IS NULL AND NOT j.blocked
     ORDER BY j.created_at
     LIMIT :take
       FOR UPDATE OF j SKIP LOCKED
    """
)

# The admitted jobs are dispatched: no longer pending, counted in flight.
MARK_DISPATCHED = text(
    "UPDATE jobs SET enqueued_at = CAST(:now AS timestamptz) WHERE id = ANY(CAST(:ids AS text[]))"
)
