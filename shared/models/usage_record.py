from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.ids import new_id


class UsageRecord(Base):
    """Tokens and cost of one job's provider call; unique per job, so it is written exactly once."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_company_created", "company_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    prompt_version: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Numeric(14, 8))
    latency_ms: Mapped[int] = mapped_column(Integer)
    # "succeeded", or the failed job's error code (as wide as jobs.error_code).
    outcome: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
