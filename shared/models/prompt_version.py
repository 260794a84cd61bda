from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.ids import new_id


class PromptVersion(Base):
    """One version of an assistant's system prompt; append-only history."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("assistant_id", "version"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    assistant_id: Mapped[str] = mapped_column(ForeignKey("assistants.id"))
    version: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str | None] = mapped_column(Text)
    llm_provider: Mapped[str] = mapped_column(String(20))
    llm_model: Mapped[str] = mapped_column(String(100))
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))  # create | update | rollback
    restored_from: Mapped[int | None] = mapped_column(Integer)
    change_note: Mapped[str | None] = mapped_column(String(1000))
    created_by_key_id: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
