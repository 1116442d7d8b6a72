"""Outbound notifications: a redelivery enqueues only what never reached the broker; a forged
id cannot shadow a genuine one; old rows are pruned; the enqueues of a minute are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from sfsync.models import Store
from sfsync.models.operations.notifications import (
    NotificationKey,
    enqueued_recently,
    mark_enqueued,
    record_notifications,
)
from sfsync.models.tables import OutboundNotification

ORG = "00D5g000004ABCDEAA"
OTHER_ORG = "00D000000000001AAA"
OPP = "0065g000000000QAAQ"
GENUINE = "0065g000000000RAAQ"
KEEP = timedelta(days=30)


def test_a_redelivered_notification_is_enqueued_again_only_if_it_never_was(store: Store) -> None:
    """Seen and enqueued: ignored; seen but not enqueued (the broker failed): returned again."""
    with store.session() as s:
        first = record_notifications(s, ORG, {"n1": OPP, "n2": OPP}, retention=KEEP)
    assert first == [NotificationKey("n1", OPP), NotificationKey("n2", OPP)]
    with store.session() as s:
        mark_enqueued(s, ORG, [NotificationKey("n1", OPP)])
    with store.session() as s:
        again = record_notifications(s, ORG, {"n1": OPP, "n2": OPP, "n3": OPP}, retention=KEEP)
    assert again == [NotificationKey("n2", OPP), NotificationKey("n3", OPP)]


def test_a_forged_notification_id_does_not_shadow_the_genuine_notification(store: Store) -> None:
    """An id claimed and enqueued first for another deal leaves the genuine one to enqueue."""
    with store.session() as s:
        forged = record_notifications(s, ORG, {"04l5g000000AAAAAA1": OPP}, retention=KEEP)
        mark_enqueued(s, ORG, forged)
    with store.session() as s:
        genuine = record_notifications(s, ORG, {"04l5g000000AAAAAA1": GENUINE}, retention=KEEP)
    assert genuine == [NotificationKey("04l5g000000AAAAAA1", GENUINE)]


def test_notification_ids_are_scoped_to_their_org(store: Store) -> None:
    """The same id and deal enqueued for one org is still new for another."""
    key = NotificationKey("n1", OPP)
    with store.session() as s:
        mark_enqueued(s, OTHER_ORG, record_notifications(s, OTHER_ORG, {"n1": OPP}, retention=KEEP))
    with store.session() as s:
        assert record_notifications(s, ORG, {"n1": OPP}, retention=KEEP) == [key]


def test_notifications_older_than_the_retention_are_pruned_on_write(store: Store) -> None:
    """A write deletes rows received before the retention window; newer rows stay."""
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    with store.session() as s:
        record_notifications(s, ORG, {"old": OPP}, retention=KEEP, now=now - timedelta(days=31))
        record_notifications(s, ORG, {"recent": OPP}, retention=KEEP, now=now - timedelta(days=29))
    with store.session() as s:
        record_notifications(s, ORG, {"new": OPP}, retention=KEEP, now=now)
    with store.session() as s:
        kept = set(s.scalars(select(OutboundNotification.notification_id)))
    assert kept == {"recent", "new"}


def test_enqueues_of_the_last_minute_are_counted_per_org(store: Store) -> None:
    """Only the org's notifications enqueued within the minute before `now` count."""
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    with store.session() as s:
        early = record_notifications(s, ORG, {"a": OPP}, retention=KEEP, now=now)
        mark_enqueued(s, ORG, early, now=now - timedelta(seconds=61))
        late = record_notifications(s, ORG, {"b": OPP, "c": OPP}, retention=KEEP, now=now)
        mark_enqueued(s, ORG, late, now=now - timedelta(seconds=5))
        other = record_notifications(s, OTHER_ORG, {"d": OPP}, retention=KEEP, now=now)
        mark_enqueued(s, OTHER_ORG, other, now=now)
    with store.session() as s:
        assert enqueued_recently(s, ORG, now=now) == 2
        assert s.scalar(select(func.count()).select_from(OutboundNotification)) == 4
