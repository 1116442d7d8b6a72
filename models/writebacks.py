"""Outbox of customer ids to write back to Salesforce accounts.

Provisioning only inserts a row here, in its own transaction, so a Salesforce failure can
never block or undo it; a separate step drains the outbox.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.dialect import insert
from models.tables import Writeback
from models.types import WritebackStatus, utcnow


def enqueue(session: Session, account_id: str, customer_id: uuid.UUID) -> None:
    session.execute(
        insert(session, Writeback)
        .values(account_id=account_id, customer_id=customer_id, status=WritebackStatus.PENDING)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )


def pending(session: Session, limit: int = 200) -> list[Writeback]:
    return list(
        session.scalars(
            select(Writeback)
            .where(Writeback.status == WritebackStatus.PENDING)
            .order_by(Writeback.created_at)
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
    session.flush()


def mark_failed(session: Session, writeback: Writeback, error: str) -> None:
    writeback.attempts += 1
    writeback.last_error = error
    session.flush()
