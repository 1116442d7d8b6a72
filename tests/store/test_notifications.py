"""Outbound notification ids: a redelivery enqueues only what never reached the broker."""

from __future__ import annotations

from models import Store
from models.notifications import mark_enqueued, record_notifications

OPP = "0065g000000000QAAQ"


def test_a_redelivered_notification_is_enqueued_again_only_if_it_never_was(store: Store) -> None:
    """Seen and enqueued: ignored; seen but not enqueued (the broker failed): returned again."""
    with store.session() as s:
        first = record_notifications(s, {"n1": OPP, "n2": OPP})
    assert first == {"n1": OPP, "n2": OPP}
    with store.session() as s:
        mark_enqueued(s, ["n1"])
    with store.session() as s:
        again = record_notifications(s, {"n1": OPP, "n2": OPP, "n3": OPP})
    assert again == {"n2": OPP, "n3": OPP}
