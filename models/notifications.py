"""Outbound Message notifications: each notification id is acted on once.

Salesforce redelivers a message until it is acknowledged, out of order and sometimes more
than once; the notification ids it carries are kept here so a redelivery enqueues nothing
that was already enqueued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.dialect import insert
from models.tables import OutboundNotification
from models.types import utcnow

__all__ = ["mark_enqueued", "record_notifications"]


def record_notifications(session: Session, notifications: Mapping[str, str]) -> dict[str, str]:
    """Keep notification id → object id; returns those still to enqueue (id → object id).

    A notification seen before and already enqueued is left out; one seen before whose
    enqueue never completed is returned again.
    """
    if not notifications:
        return {}
    rows = [{"notification_id": n, "object_id": o} for n, o in notifications.items()]
    session.execute(
        insert(session, OutboundNotification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )
    pending = session.scalars(
        select(OutboundNotification.notification_id).where(
            OutboundNotification.notification_id.in_(list(notifications)),
            OutboundNotification.enqueued_at.is_(None),
        )
    )
    return {n: notifications[n] for n in pending}


def mark_enqueued(session: Session, notification_ids: Sequence[str]) -> None:
    if notification_ids:
        session.execute(
            update(OutboundNotification)
            .where(OutboundNotification.notification_id.in_(list(notification_ids)))
            .values(enqueued_at=utcnow())
        )
