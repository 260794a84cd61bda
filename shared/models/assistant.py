from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.ids import new_id

_LIVE = text("deleted_at IS NULL")


class Assistant(Base):
    """An assistant. Deletion is soft (`deleted_at`) so jobs, sessions and usage keep their owner."""

    __tablename__ = "assistants"
    __table_args__ = (
        # One index per sort order of the list endpoint, live rows only, id as the tie-breaker.
        Index(
            "ix_assistants_company_created",
            "company_id",
            "created_at",
            "id",
            postgresql_where=_LIVE,
        ),
        Index("ix_assistants_company_name", "company_id", "name", "id", postgresql_where=_LIVE),
        Index(
            "ix_assistants_company_last_accessed",
            "company_id",
            "last_accessed_at",
            "id",
            postgresql_where=_LIVE,
        ),
        # Most recently used first, never-used last: the default order of sortBy=lastUsed.
        Index(
            "ix_assistants_company_last_accessed_desc",
            "company_id",
            text("last_accessed_at DESC NULLS LAST"),
            text("id DESC"),
            postgresql_where=_LIVE,
        ),
        Index("ix_assistants_team_ids", "team_ids", postgresql_using="gin"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    llm_provider: Mapped[str] = mapped_column(String(20))
    llm_model: Mapped[str] = mapped_column(String(100))
    llm_prompt: Mapped[str | None] = mapped_column(Text)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(35))
    voice: Mapped[str | None] = mapped_column(String(50))
    team_ids: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default="{}")
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    prompt_version: Mapped[int] = mapped_column(Integer, server_default="1")
    last_accessed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
