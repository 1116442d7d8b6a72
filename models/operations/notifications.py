"""Outbound Message notifications: each notification is acted on once, and not kept forever.

The sender redelivers a message until it is acknowledged, out of order and sometimes more
than once; the notifications it carries are kept here so a redelivery enqueues nothing
that was already enqueued. A notification is known by its org, its id and the object it
is about together, so an id claimed first by a forged message for another object leaves
the genuine notification to be enqueued. Rows older than the retention are pruned on
each write (the sender stops redelivering after 24 hours), and the rows enqueued in the
last minute bound what one org may queue (`enqueued_recently`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from sfsync.models.dialect import insert
from sfsync.models.tables import OutboundNotification
from sfsync.models.types import utcnow

__all__ = ["NotificationKey", "enqueued_recently", "mark_enqueued", "record_notifications"]


@dataclass(frozen=True)
class NotificationKey:
    """One notification: its id and the object it is about (the org is the caller's)."""

    notification_id: str
    object_id: str


def _keys(keys: list[NotificationKey]) -> object:
    return tuple_(OutboundNotification.notification_id, OutboundNotification.object_id).in_(
        [(k.notification_id, k.object_id) for k in keys]
    )


def record_notifications(
    session: Session,
    organization_id: str,
    notifications: Mapping[str, str],
    *,
    retention: timedelta,
    now: datetime | None = None,
) -> list[NotificationKey]:
    """Keep the org's notification id → object id pairs; returns those still to enqueue.

    A notification seen before and already enqueued is left out; one seen before whose
    enqueue never completed is returned again. Rows received before `now - retention`
    are deleted first.
    """
    now = now or utcnow()
    session.execute(
        delete(OutboundNotification).where(OutboundNotification.received_at < now - retention)
    )
    if not notifications:
        return []
    keys = [NotificationKey(n, o) for n, o in notifications.items()]
    rows = [
        {
            "organization_id": organization_id,
            "notification_id": k.notification_id,
            "object_id": k.object_id,
            "received_at": now,
        }
        for k in keys
    ]
    session.execute(
        insert(session, OutboundNotification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["organization_id", "notification_id", "object_id"])
    )
    pending = session.execute(
        select(OutboundNotification.notification_id, OutboundNotification.object_id).where(
            OutboundNotification.organization_id == organization_id,
            _keys(keys),  # type: ignore[arg-type]
            OutboundNotification.enqueued_at.is_(None),
        )
    )
    waiting = {NotificationKey(n, o) for n, o in pending}
    return [k for k in keys if k in waiting]


def enqueued_recently(
    session: Session, organization_id: str, *, now: datetime | None = None
) -> int:
    """How many of the org's notifications were enqueued in the last minute."""
    since = (now or utcnow()) - timedelta(minutes=1)
    count = session.scalar(
        select(func.count()).where(
            OutboundNotification.organization_id == organization_id,
            OutboundNotification.enqueued_at >= since,
        )
    )
    return int(count or 0)


def mark_enqueued(
    session: Session,
    organization_id: str,
    keys: list[NotificationKey],
    *,
    now: datetime | None = None,
) -> None:
    if keys:
        session.execute(
            update(OutboundNotification)
            .where(OutboundNotification.organization_id == organization_id, _keys(keys))  # type: ignore[arg-type]
            .values(enqueued_at=now or utcnow())
        )
