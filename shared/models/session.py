from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base


class Session(Base):
    """A conversation with one assistant. Ids may be chosen by the client, so they are strings."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_company_created", "company_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id"), index=True)
    # Each execute on the session takes the next number; turns are applied in that order.
    next_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    message_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SessionMessage(Base):
    """One turn of a session: `user` (text, attachments, tool results) or `assistant` (text, tool calls)."""

    __tablename__ = "session_messages"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    job_id: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
