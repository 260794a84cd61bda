"""assistants: an index for sortBy=lastUsed newest first (NULLS LAST)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_assistants_company_last_accessed_desc",
        "assistants",
        ["company_id", sa.text("last_accessed_at DESC NULLS LAST"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_assistants_company_last_accessed_desc", table_name="assistants")
