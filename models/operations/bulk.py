"""Set-based operations on dead letters and the writeback outbox: many per statement.

Page-at-a-time provisioning's statements, kept as `models.customers.bulk` says.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import update
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.tables import (
    DeadLetter,
    Writeback,
)
from sfsync.models.types import (
    DeadLetterSource,
    DeadLetterStatus,
    WritebackStatus,
    utcnow,
)

__all__ = ["enqueue_writebacks", "resolve_open_letters"]


def _conn(session: Session) -> Connection:
    # Core statements on the session's connection: none of the ORM's per-row bookkeeping
    # (nothing here is loaded as objects).
    return session.connection()


def resolve_open_letters(
    session: Session, source: DeadLetterSource, references: Sequence[str]
) -> int:
    """Open letters of these records are replayed: they were processed some other way."""
    if not references:
        return 0
    table = jsonrows.table_of(DeadLetter)
    result = _conn(session).execute(
        update(table)
        .values(status=DeadLetterStatus.REPLAYED, resolved_at=utcnow())
        .where(
            table.c.source == source,
            table.c.status == DeadLetterStatus.OPEN,
            jsonrows.in_json(session, table.c.reference, "refs"),
        ),
        {"refs": jsonrows.values(session, table.c.reference, dict.fromkeys(references))},
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def enqueue_writebacks(session: Session, customers: Mapping[str, uuid.UUID]) -> None:
    """Outbox rows account id → customer id (an account already queued is left alone)."""
    now = utcnow()
    jsonrows.insert_rows(
        session,
        jsonrows.table_of(Writeback),
        ("account_id", "customer_id", "status", "attempts", "created_at"),
        [(a, c, WritebackStatus.PENDING, 0, now) for a, c in customers.items()],
        on_conflict=("account_id",),
        order_by="account_id",
    )
