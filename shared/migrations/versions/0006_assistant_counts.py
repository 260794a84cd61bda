"""assistant_counts, assistant_touches: exact per-company counters kept by triggers

`GET /api/assistants` reports the exact total on every page; counting 100,000 rows per call cost
tens of milliseconds. `assistant_counts.live` is that total; `changes` grows whenever the set of
live assistants or their name/creation order changes, and `assistant_touches` (a few rows per
company: a touch takes one no other transaction holds, so executions never queue on it) grows
whenever a `last_accessed_at` changes: together they tell a reader whether a cached order is
still exact.
The triggers run in the transaction that changes the rows (statement-level for INSERT and
DELETE, so bulk loads cost one update per company), and the counts are backfilled under a lock
that holds writers off meanwhile.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement touching several companies updates their counts in company id order.
FUNCTIONS = [
    """
CREATE FUNCTION assistant_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO assistant_counts AS c (company_id, live, changes)
    SELECT company_id, count(*) FILTER (WHERE deleted_at IS NULL), 1 FROM inserted
    GROUP BY company_id ORDER BY company_id
    ON CONFLICT (company_id) DO UPDATE SET live = c.live + EXCLUDED.live, changes = c.changes + 1;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assistant_counts AS c SET live = c.live - d.n, changes = c.changes + 1
    FROM (SELECT company_id, count(*) FILTER (WHERE deleted_at IS NULL) AS n FROM deleted
          GROUP BY company_id ORDER BY company_id) AS d
    WHERE c.company_id = d.company_id;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO assistant_counts AS c (company_id, live, changes)
    VALUES (OLD.company_id, -(OLD.deleted_at IS NULL)::int, 1)
    ON CONFLICT (company_id) DO UPDATE SET live = c.live + EXCLUDED.live, changes = c.changes + 1;
    INSERT INTO assistant_counts AS c (company_id, live, changes)
    VALUES (NEW.company_id, (NEW.deleted_at IS NULL)::int, 1)
    ON CONFLICT (company_id) DO UPDATE SET live = c.live + EXCLUDED.live, changes = c.changes + 1;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_touches_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    free smallint;
BEGIN
    -- Never a wait (the worker touches with SKIP LOCKED for the same reason): take the first
    -- shard row no other transaction holds, or add one at a random number: so no execution
    -- queues here, and no deadlock can involve these rows.
    SELECT shard INTO free FROM assistant_touches WHERE company_id = NEW.company_id
    ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        UPDATE assistant_touches SET touches = touches + 1
        WHERE company_id = NEW.company_id AND shard = free;
        RETURN NULL;
    END IF;
    LOOP
        INSERT INTO assistant_touches (company_id, shard, touches)
        VALUES (NEW.company_id, floor(random() * 32767)::smallint, 1)
        ON CONFLICT (company_id, shard) DO NOTHING;
        EXIT WHEN FOUND;
    END LOOP;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- `changes` only ever grows, so no cached order can look current again.
    UPDATE assistant_counts SET live = 0, changes = changes + 1;
    RETURN NULL;
END $$""",
]

TRIGGERS = [
    """
CREATE TRIGGER assistant_counts_insert AFTER INSERT ON assistants
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION assistant_counts_inserted()""",
    """
CREATE TRIGGER assistant_counts_delete AFTER DELETE ON assistants
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION assistant_counts_deleted()""",
    # Fires only when a column that decides membership or the name/creation order changes.
    """
CREATE TRIGGER assistant_counts_update
    AFTER UPDATE OF deleted_at, company_id, id, name, created_at ON assistants
    FOR EACH ROW WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.company_id IS DISTINCT FROM NEW.company_id
                       OR OLD.id IS DISTINCT FROM NEW.id
                       OR OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION assistant_counts_updated()""",
    # An execution's touch: counted on a row of the company that nobody else holds.
    """
CREATE TRIGGER assistant_touches_update AFTER UPDATE OF last_accessed_at ON assistants
    FOR EACH ROW WHEN (OLD.last_accessed_at IS DISTINCT FROM NEW.last_accessed_at)
    EXECUTE FUNCTION assistant_touches_counted()""",
    """
CREATE TRIGGER assistant_counts_truncate AFTER TRUNCATE ON assistants
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_counts_truncated()""",
]


def upgrade() -> None:
    op.create_table(
        "assistant_counts",
        sa.Column("company_id", sa.String(length=24), nullable=False),
        sa.Column("live", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("changes", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_assistant_counts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_assistant_counts")),
    )
    op.create_table(
        "assistant_touches",
        sa.Column("company_id", sa.String(length=24), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("touches", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_assistant_touches_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", "shard", name=op.f("pk_assistant_touches")),
    )
    # Writers wait from here to the commit, so no row is counted twice or missed.
    op.execute("LOCK TABLE assistants IN SHARE ROW EXCLUSIVE MODE")
    for statement in (*FUNCTIONS, *TRIGGERS):
        op.execute(statement)
    op.execute(
        "INSERT INTO assistant_counts (company_id, live) SELECT company_id, count(*) "
        "FROM assistants WHERE deleted_at IS NULL GROUP BY company_id"
    )


def downgrade() -> None:
    for name in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER assistant_counts_{name} ON assistants")
    op.execute("DROP TRIGGER assistant_touches_update ON assistants")
    for name in ("inserted", "deleted", "updated", "truncated"):
        op.execute(f"DROP FUNCTION assistant_counts_{name}()")
    op.execute("DROP FUNCTION assistant_touches_counted()")
    op.drop_table("assistant_touches")
    op.drop_table("assistant_counts")
