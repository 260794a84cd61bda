"""assistant_counts: an exact per-company count of live assistants, kept by triggers

`GET /api/assistants` reports the exact total on every page; counting 100,000 rows per call cost
tens of milliseconds. The triggers keep the count in the transaction that changes the rows
(statement-level for INSERT and DELETE, so bulk loads cost one update per company; row-level
for the soft delete), and the table is backfilled under a lock that holds writers off meanwhile.

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
    INSERT INTO assistant_counts AS c (company_id, live)
    SELECT company_id, count(*) FROM inserted WHERE deleted_at IS NULL
    GROUP BY company_id ORDER BY company_id
    ON CONFLICT (company_id) DO UPDATE SET live = c.live + EXCLUDED.live;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assistant_counts AS c SET live = c.live - d.n
    FROM (SELECT company_id, count(*) AS n FROM deleted WHERE deleted_at IS NULL
          GROUP BY company_id ORDER BY company_id) AS d
    WHERE c.company_id = d.company_id;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NULL THEN
        UPDATE assistant_counts SET live = live - 1 WHERE company_id = OLD.company_id;
    END IF;
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO assistant_counts AS c (company_id, live) VALUES (NEW.company_id, 1)
        ON CONFLICT (company_id) DO UPDATE SET live = c.live + 1;
    END IF;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION assistant_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM assistant_counts;
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
    # Only a change of deleted_at or company_id fires it: lastAccessedAt touches cost nothing.
    """
CREATE TRIGGER assistant_counts_update AFTER UPDATE OF deleted_at, company_id ON assistants
    FOR EACH ROW WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION assistant_counts_updated()""",
    """
CREATE TRIGGER assistant_counts_truncate AFTER TRUNCATE ON assistants
    FOR EACH STATEMENT EXECUTE FUNCTION assistant_counts_truncated()""",
]


def upgrade() -> None:
    op.create_table(
        "assistant_counts",
        sa.Column("company_id", sa.String(length=24), nullable=False),
        sa.Column("live", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_assistant_counts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_assistant_counts")),
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
    for name in ("inserted", "deleted", "updated", "truncated"):
        op.execute(f"DROP FUNCTION assistant_counts_{name}()")
    op.drop_table("assistant_counts")
