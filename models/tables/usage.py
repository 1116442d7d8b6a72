"""Tables of usage events and the ingest tallies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Uuid,
    column,
)
from sqlalchemy.orm import Mapped, mapped_column

from sfsync.models.tables.base import (
    MAX_EVENT_KEY,
    Base,
)
from sfsync.models.types import (
    UTCDateTime,
    utcnow,
)

__all__ = ["IngestTally", "UsageEvent"]


class UsageEvent(Base):
    """A usage event exactly as sent; `customer_id` is its attribution, or NULL while pending.

    Indexes are chosen for ingest speed (each one is a random-order B-tree write per event):
    `(customer_key, timestamp)` serves alias re-attribution and per-customer summaries (a
    customer's keys are its aliases and its id) and is untouched when attribution changes;
    the partial index holds only pending events, so the sweep and `usage pending` read a
    small index while attributed events never enter it. There is deliberately no index on
    `customer_id`, nor a foreign key (sfsync never deletes a customer).
    """

    __tablename__ = "usage_events"

    transaction_id: Mapped[str] = mapped_column(String(MAX_EVENT_KEY), primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(MAX_EVENT_KEY))
    # No foreign key (migration 0009): its per-row check cost ~40% of an ingest batch on
    # PostgreSQL, and customers are archived, never deleted.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(MAX_EVENT_KEY))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_usage_events_customer_key_timestamp", "customer_key", "timestamp"),
        Index(
            "ix_usage_events_pending",
            "customer_key",
            sqlite_where=column("customer_id").is_(None),
            postgresql_where=column("customer_id").is_(None),
        ),
    )


class IngestTally(Base):
    """What one ingest call did: rows only ever added, so totals are sums (`/metrics`).

    Duplicates leave no other trace in the store (insert-or-ignore), hence this table.
    """

    __tablename__ = "ingest_tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicate: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
