"""jobs: vacuumed and analysed after 2% of its rows change, not PostgreSQL's default 20%

Every job row is written three or four times (admitted, dispatched, claimed, finished), and the
dispatcher counts the jobs in flight through the partial index ix_jobs_open on every round. The
dead entries those updates leave are visited by that count until a vacuum removes them: after one
50,000-item batch on a server with autovacuum off, the count read 5,457 buffers with nothing in
flight, and back-to-back 50,000-item drains ran at 410, 330 and 288 items/s. With the default
scale factor a table of ten million jobs would wait for two million dead rows between vacuums.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = ("autovacuum_vacuum_scale_factor", "autovacuum_analyze_scale_factor")


def upgrade() -> None:
    op.execute(f"ALTER TABLE jobs SET ({', '.join(f'{name} = 0.02' for name in SETTINGS)})")


def downgrade() -> None:
    op.execute(f"ALTER TABLE jobs RESET ({', '.join(SETTINGS)})")
