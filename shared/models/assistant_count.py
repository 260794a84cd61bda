from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base


class AssistantCount(Base):
    """How many live (not deleted) assistants a company has: the list endpoint's exact total.

    Written only by triggers on `assistants` (migration 0006), in the transaction that creates,
    deletes or soft-deletes the rows, so it is exact in every snapshot, bulk SQL included. A
    company without a row has none.
    """

    __tablename__ = "assistant_counts"

    company_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    live: Mapped[int] = mapped_column(BigInteger, server_default="0")
