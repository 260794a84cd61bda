"""usage outcome holds any job error code

The outcome of a failed call is its error code, and codes such as ATTACHMENT_FETCH_FAILED and
PROVIDER_RATE_LIMITED are longer than 20 characters: the outcome was not written at all.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "usage_records",
        "outcome",
        type_=sa.String(length=40),
        existing_type=sa.String(length=20),
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "usage_records",
        "outcome",
        type_=sa.String(length=20),
        existing_type=sa.String(length=40),
        existing_nullable=False,
        postgresql_using="left(outcome, 20)",
    )
