from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.ids import new_id


class Batch(Base):
    """A batch of execute items; its items are ordinary jobs carrying `batch_id` and `custom_id`.

    Counts and progress are read from the jobs, so they can never drift from the truth.
    """

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_company_created", "company_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id"))
    total_items: Mapped[int] = mapped_column(Integer)
    invalid_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
