from sqlalchemy import BigInteger, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base


class AssistantCount(Base):
    """Per company: how many live (not deleted) assistants, and how often that set changed.

    Written only by triggers on `assistants` (migration 0006), in the transaction that changes
    the rows, so it is exact in every snapshot, bulk SQL included. `live` is the list endpoint's
    total; `changes` grows with every create, delete, rename or other change of the name/creation
    order. A company without a row has no assistants.
    """

    __tablename__ = "assistant_counts"

    company_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    live: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changes: Mapped[int] = mapped_column(BigInteger, server_default="0")


class AssistantTouches(Base):
    """How often `last_accessed_at` changed, per company, summed over a few shard rows.

    Kept by a trigger that counts each touch on a shard row no other transaction holds (SKIP
    LOCKED, adding a row when all are taken), so an execution never waits here. The sum over a
    company's rows tells whether a cached lastUsed order is still exact.
    """

    __tablename__ = "assistant_touches"

    company_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    touches: Mapped[int] = mapped_column(BigInteger, server_default="0")
