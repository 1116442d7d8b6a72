"""Outbox of customer ids to write back to the source's accounts.

Provisioning only inserts a row here, in its own transaction, so a failure at the source can
never block or undo it; a separate step drains the outbox, oldest due rows first. A row
that failed for a passing reason waits `backoff(attempts)` before it is due again; one that
can never succeed leaves the outbox (the drain records a dead letter for it), so neither
kind holds back the rows behind it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sfsync.models.dialect import insert
from sfsync.models.tables import Writeback
from sfsync.models.types import WritebackStatus, utcnow

__all__ = [
    "RETRY_BASE",
    "RETRY_MAX",
    "backoff",
    "count_pending",
    "due",
    "enqueue",
    "mark_done",
    "mark_failed",
    "remove",
]


def enqueue(session: Session, account_id: str, customer_id: uuid.UUID) -> None:
    session.execute(
        insert(session, Writeback)
        .values(account_id=account_id, customer_id=customer_id, status=WritebackStatus.PENDING)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )


#: The first retry of a failed writeback waits this long, each further one twice as long...
RETRY_BASE = timedelta(minutes=1)
#: ...up to this.
RETRY_MAX = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """How long a row that has failed `attempts` times waits before it is due again."""
    doublings: int = min(max(attempts - 1, 0), 20)
    return min(RETRY_MAX, RETRY_BASE * (1 << doublings))


def due(session: Session, limit: int, now: datetime | None = None) -> list[Writeback]:
    """The oldest `limit` pending rows whose backoff has passed at `now`."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Writeback)
            .where(
                Writeback.status == WritebackStatus.PENDING,
                or_(Writeback.next_attempt_at.is_(None), Writeback.next_attempt_at <= now),
            )
            .order_by(Writeback.created_at, Writeback.account_id)
            .limit(limit)
        )
    )


def count_pending(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Writeback)
            .where(Writeback.status == WritebackStatus.PENDING)
        )
        or 0
    )


def mark_done(session: Session, writeback: Writeback) -> None:
    writeback.status = WritebackStatus.DONE
    writeback.attempts += 1
    writeback.done_at = utcnow()
    writeback.last_error = None
    writeback.next_attempt_at = None
    session.flush()


def mark_failed(
    session: Session, writeback: Writeback, error: str, now: datetime | None = None
) -> None:
    """A passing failure: the row stays pending and is due again after its backoff."""
    writeback.attempts += 1
    writeback.last_error = error
    writeback.next_attempt_at = (now or utcnow()) + backoff(writeback.attempts)
    session.flush()


def remove(session: Session, writeback: Writeback) -> None:
    """Take a row that can never succeed out of the outbox (its dead letter keeps it)."""
    session.delete(writeback)
    session.flush()
