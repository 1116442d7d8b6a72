"""Tables of contracts and their revisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from sfsync.models.tables.base import (
    MAX_NAME,
    Base,
    enum_column,
)
from sfsync.models.types import (
    ContractStatus,
    EndSource,
    Money,
    RevisionKind,
    UTCDateTime,
    new_id,
    utcnow,
)

__all__ = ["Contract", "ContractRevision"]


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    starting_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ending_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ContractStatus] = mapped_column(
        enum_column(ContractStatus, 16), default=ContractStatus.ACTIVE
    )
    #: Who set `ending_before` when it is not the deal's term (None: it is the deal's).
    end_source: Mapped[EndSource | None] = mapped_column(enum_column(EndSource, 16))
    #: The deal's source version when sfsync last wrote the contract (reconciliation compares).
    source_version: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_NAME}", name="name_length"),
        CheckConstraint(
            "ending_before IS NULL OR ending_before > starting_at", name="period_order"
        ),
        CheckConstraint("amount IS NULL OR CAST(amount AS NUMERIC) >= 0", name="amount_positive"),
        CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency", name="currency_code"
        ),
    )


class ContractRevision(Base):
    """One change made to a contract: its terms before and after, why, and from which run."""

    __tablename__ = "contract_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RevisionKind] = mapped_column(enum_column(RevisionKind, 16))
    #: Terms before the change (None for `created`) and after, as
    #: `models.contracts.revisions` writes them.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    cause: Mapped[str] = mapped_column(Text)
    #: The deal's source version the change came from (None for an operator's change).
    source_version: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
