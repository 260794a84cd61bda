from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.ids import new_id


class Job(Base):
    """One execution of an assistant: the source of truth for its state, input and result.

    `claim_token` fences workers: only the holder of the current claim may write the outcome, so
    a re-delivered or duplicated task can never write a second result.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_company_created", "company_id", "created_at"),
        Index("ix_jobs_company_assistant_created", "company_id", "assistant_id", "created_at"),
        # Partial: batch items have no session, interactive jobs no batch (migration 0008).
        Index(
            "ix_jobs_session_seq",
            "session_id",
            "session_seq",
            postgresql_where=text("session_id IS NOT NULL"),
        ),
        Index("ix_jobs_batch_id", "batch_id", postgresql_where=text("batch_id IS NOT NULL")),
        Index(
            "ix_jobs_open",
            "status",
            "enqueued_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        # What the dispatcher scans: accepted, not yet handed to a worker, not waiting on a turn.
        Index(
            "ix_jobs_pending",
            "company_id",
            "created_at",
            postgresql_where=text("status = 'queued' AND enqueued_at IS NULL AND NOT blocked"),
        ),
        Index("ix_jobs_company_queued", "company_id", postgresql_where=text("status = 'queued'")),
        Index(
            "uq_jobs_company_idempotency_key",
            "company_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id"))
    session_id: Mapped[str | None] = mapped_column(String(100))
    session_seq: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(String(24))
    custom_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))  # interactive | async | batch
    status: Mapped[str] = mapped_column(String(10), server_default="queued")
    # Waits for an earlier job of the same session; released when that one ends.
    blocked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    input: Mapped[dict[str, Any]] = mapped_column(JSONB)
    prompt_version: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    deliveries: Mapped[int] = mapped_column(Integer, server_default="0")
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
