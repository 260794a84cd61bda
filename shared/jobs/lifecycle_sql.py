"""The statements of a job's claim and outcome, each one round trip for a whole chunk.

Why SQL text rather than the ORM here: these run for every job, and the ORM's version was ten
statements whose compilation (multi-row VALUES, bulk UPDATE ... RETURNING ORM rows) cost more
CPU than PostgreSQL's work, about 20 ms of a synchronous execute's 33. Every other write goes
through the ORM. Row-wise data travels as parallel arrays (`unnest`), so one prepared statement
serves any chunk size.
"""

from sqlalchemy import text

from shared.db import DriverStatement

# Take the claimable jobs among :ids and return each with what the call needs: the prompt of
# its version, the assistant's tools and its session's history as [[role, content], ...].
# The history is read in the claim's snapshot: a session's next job becomes claimable only in
# the transaction that wrote the previous job's turns, so they are always visible here.
# `(status || '')` here and in FINISH: the jobs are found by their ids (the primary key), and
# the opaque form keeps the planner from using the partial index ix_jobs_open instead. With
# statistics taken while nothing was queued it estimates that index at one row and scanned all of
# it: 13 ms a claim with 20,000 jobs queued, against 2.5 (EXPLAIN ANALYZE, docs/benchmarks.md).
_CLAIMED = """
    claimed AS (
        UPDATE jobs
           SET status = 'running', claim_token = :token, deliveries = deliveries + 1,
               attempts = attempts + 1, started_at = CAST(:now AS timestamptz), lease_expires_at = CAST(:lease_until AS timestamptz)
         WHERE id = ANY(CAST(:ids AS text[])) AND NOT blocked
           AND ((status || '') = 'queued'
                OR ((status || '') = 'running' AND lease_expires_at < CAST(:now AS timestamptz)))
        RETURNING jobs.*
    )
"""
_CLAIM_SELECT = """
    SELECT claimed.*,
           (SELECT pv.prompt FROM prompt_versions pv
             WHERE pv.assistant_id = claimed.assistant_id
               AND pv.version = claimed.prompt_version) AS claim_system_prompt,
           (SELECT a.tools FROM assistants a WHERE a.id = claimed.assistant_id) AS claim_tools,
           (SELECT json_agg(json_build_array(m.role, m.content) ORDER BY m.position)
              FROM session_messages m
             WHERE m.session_id = claimed.session_id) AS claim_history
      FROM claimed
"""
CLAIM = text(f"WITH {_CLAIMED} {_CLAIM_SELECT}")

# The workers' claim commits without waiting for its WAL to reach the disk (the transaction's own
# `synchronous_commit`, set inside the statement, so the claim stays one round trip; nothing else
# is in its transaction, and the connection's setting is untouched afterwards). A claim lost to a
# database crash costs nothing a crash of the worker wouldn't: the job is queued again and the
# reaper re-sends it. The outcome's write commits synchronously, which flushes the WAL up to and
# including the claim: no outcome is durable without its claim. The flush was 0.25 ms of a
# synchronous request's claim (stage probes, docs/benchmarks.md).
_RELAXED_COMMIT = """
    relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
"""
CLAIM_RELAXED = text(f"WITH {_RELAXED_COMMIT}, {_CLAIMED} {_CLAIM_SELECT} CROSS JOIN relaxed")

# Write the outcomes whose claim is still ours, with their usage records and session turns,
# and lock their sessions (:session_ids, in id order, the order every writer uses).
#
# With :only_last_turns, a session's job is written only if the session has no later turn (its
# `next_seq`, read through the lock, is the job's own turn + 1): nothing waits on it, so the
# statement is the whole write and runs alone, without BEGIN and COMMIT. A turn admitted
# meanwhile takes the session lock first and finds the job ended. Without :only_last_turns it
# writes every outcome, and `RELEASE` follows in the same transaction as a statement of its own:
# its snapshot has to include turns committed while this one waited for a session's lock.
# Returns (job id, session id) of the outcomes written.
FINISH = text(
    """
    WITH o AS (
        SELECT * FROM unnest(
            CAST(:ids AS text[]), CAST(:tokens AS text[]), CAST(:statuses AS text[]),
            CAST(:responses AS text[]), CAST(:tool_calls AS text[]),
            CAST(:input_tokens AS int[]), CAST(:output_tokens AS int[]),
            CAST(:error_codes AS text[]), CAST(:error_messages AS text[]),
            CAST(:usage_ids AS text[]), CAST(:costs AS numeric[]), CAST(:latencies AS int[]),
            CAST(:usage_outcomes AS text[]), CAST(:turns AS text[])
        ) WITH ORDINALITY AS o(job_id, token, status, response, tool_calls, input_tokens,
                               output_tokens, error_code, error_message, usage_id, cost,
                               latency_ms, usage_outcome, turns, n)
    ),
    locked AS (
        -- FOR UPDATE returns the row's latest version, also one committed after this
        -- statement's snapshot (by the admission it waited for): its next_seq is current.
        SELECT s.id, s.next_seq FROM sessions s
         WHERE s.id = ANY(CAST(:session_ids AS text[]))
         ORDER BY s.id
           FOR UPDATE
    ),
    done AS (
        UPDATE jobs j
           SET status = o.status, response = o.response, tool_calls = o.tool_calls::jsonb,
               input_tokens = o.input_tokens, output_tokens = o.output_tokens,
               error_code = o.error_code, error_message = o.error_message,
               finished_at = CAST(:now AS timestamptz), lease_expires_at = NULL
          FROM o
         WHERE j.id = o.job_id AND j.claim_token = o.token AND (j.status || '') = 'running'
           AND (j.session_id IS NULL OR NOT CAST(:only_last_turns AS boolean)
                OR j.session_seq + 1 = (SELECT l.next_seq FROM locked l WHERE l.id = j.session_id))
        RETURNING j.id, j.company_id, j.assistant_id, j.session_id, j.provider, j.model,
                  j.prompt_version
    ),
    usage AS (
        INSERT INTO usage_records (id, company_id, assistant_id, job_id, provider, model,
                                   prompt_version, input_tokens, output_tokens, cost,
                                   latency_ms, outcome)
        SELECT o.usage_id, d.company_id, d.assistant_id, d.id, d.provider, d.model,
               d.prompt_version, o.input_tokens, o.output_tokens, o.cost, o.latency_ms,
               o.usage_outcome
          FROM done d JOIN o ON o.job_id = d.id
        ON CONFLICT (job_id) DO NOTHING
    ),
    turns AS (
        SELECT d.session_id, d.id AS job_id, o.n, t.k, t.turn ->> 0 AS role,
               t.turn -> 1 AS content
          FROM done d JOIN o ON o.job_id = d.id
         CROSS JOIN LATERAL jsonb_array_elements(o.turns::jsonb) WITH ORDINALITY AS t(turn, k)
         WHERE d.session_id IS NOT NULL
    ),
    counted AS (
        UPDATE sessions s
           SET message_count = s.message_count + coalesce(c.added, 0),
               updated_at = CASE WHEN c.added > 0 THEN CAST(:now AS timestamptz) ELSE s.updated_at END
          FROM locked l
          LEFT JOIN (SELECT session_id, count(*) AS added FROM turns GROUP BY session_id) c
            ON c.session_id = l.id
         WHERE s.id = l.id
        RETURNING s.id, s.message_count - coalesce(c.added, 0) AS first_position
    ),
    messages AS (
        INSERT INTO session_messages (session_id, position, role, content, job_id)
        SELECT t.session_id,
               c.first_position - 1
                 + row_number() OVER (PARTITION BY t.session_id ORDER BY t.n, t.k),
               t.role, t.content, t.job_id
          FROM turns t JOIN counted c ON c.id = t.session_id
    ),
    touched AS (
        -- lastAccessedAt: at most one write a second per assistant, and never a wait (a row
        -- locked by another chunk is being touched). NO KEY UPDATE, not UPDATE: this CTE may
        -- run before `locked` waits for a session, and an admission holding that session's lock
        -- inserts a job whose foreign key takes KEY SHARE on the same assistant row; FOR UPDATE
        -- would block it and deadlock.
        UPDATE assistants SET last_accessed_at = CAST(:now AS timestamptz)
         WHERE id IN (SELECT a.id FROM assistants a
                       WHERE a.id IN (SELECT assistant_id FROM done)
                         AND (a.last_accessed_at IS NULL
                              OR a.last_accessed_at < CAST(:now AS timestamptz) - interval '1 second')
                         FOR NO KEY UPDATE SKIP LOCKED)
    )
    SELECT d.id, d.session_id FROM done d
    """
)

# Unblock each locked session's next waiting job (lowest turn number). Returns (session id,
# job id, kind); an interactive job goes straight to a worker, any other kind to the dispatcher.
# `(status || '')` as in CLAIM: with statistics that saw nothing queued, the planner read every
# queued job's entry in ix_jobs_company_queued (52,041 with a 50,000-item batch waiting) rather
# than the session's few in ix_jobs_session_seq.
RELEASE = text(
    """
    UPDATE jobs
       SET blocked = false,
           enqueued_at = CASE WHEN kind = 'interactive' THEN CAST(:now AS timestamptz) ELSE NULL END
     WHERE id IN (
        SELECT next_job.id
          FROM unnest(CAST(:session_ids AS text[])) AS s(id)
         CROSS JOIN LATERAL (
            SELECT j.id FROM jobs j
             WHERE j.session_id = s.id AND j.blocked AND (j.status || '') = 'queued'
             ORDER BY j.session_seq
             LIMIT 1
               FOR UPDATE
         ) AS next_job
     )
    RETURNING session_id, id, kind
    """
)

# The workers' forms of the two statements every job runs, for asyncpg's own connections
# (`workers.runtime.job_path_pool`): SQLAlchemy's work per execution (the parameters' processing,
# the result's rows) was more than half of each one's CPU in the interactive worker's event loop
# (claim 0.65 against 0.24 ms, outcome 0.64 against 0.26, per synchronous request).
CLAIM_DRIVER = DriverStatement(CLAIM_RELAXED)
# Whether a job's row is there, whatever its state (a claim that found nothing asks).
JOB_EXISTS = "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)"
FINISH_DRIVER = DriverStatement(FINISH)
