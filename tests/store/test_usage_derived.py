"""Derived attribution (`models.aliases.attribution`): an attach rewrites no events, and every
reader sees the owner the alias table gives an event stored without a customer.

Each test checks the store's three views of attribution together (the event as shown, the
summary, the pending keys) and the stored column, before and after one sweep.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.aliases.ownership import add_aliases, move_alias, remove_aliases
from sfsync.models.customers.retirement import archive_customer, merge_customers
from sfsync.models.errors import StoreError
from sfsync.models.reports.overview import read_overview
from sfsync.models.tables import UsageEvent
from sfsync.models.usage.events import pending_keys, resolve_pending, stored_events
from sfsync.models.usage.summary import summarize
from sfsync.sync.usage import UsageRules, ingest
from tests.store.conftest import MakeCustomer
from tests.store.usage_events import NOW, ev

AddEvents = Callable[..., None]


def _ingest(store: Store, settings: Settings, events: list[dict[str, Any]]) -> dict[str, int]:
    with store.session() as s:
        return ingest(s, events, UsageRules.of(settings), now=NOW).counts()


def _views(store: Store, key: str) -> tuple[dict[uuid.UUID | None, int], set[str]]:
    """Events keyed on `key` per attributed customer, and the keys reported pending."""
    with store.session() as s:
        owner = attributed_customer(s)
        rows = s.execute(
            select(owner, func.count()).where(UsageEvent.customer_key == key).group_by(owner)
        )
        return {cid: int(n) for cid, n in rows}, {p.customer_key for p in pending_keys(s)}


def _stored(store: Store, key: str) -> dict[uuid.UUID | None, int]:
    """The stored column alone, per value."""
    with store.session() as s:
        rows = s.execute(
            select(UsageEvent.customer_id, func.count())
            .where(UsageEvent.customer_key == key)
            .group_by(UsageEvent.customer_id)
        )
        return {cid: int(n) for cid, n in rows}


def _events_of(store: Store, customer_id: uuid.UUID) -> int:
    with store.session() as s:
        rows = summarize(s, customer_id)
    return rows[0].events if rows else 0


def test_attach_writes_no_event_and_every_reader_sees_the_owner(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Attaching an alias leaves its events' rows as they were; shown, summarised and pending
    counts follow the owner at once; one sweep writes the owner into the rows."""
    cid = make_customer()
    events = [ev("late-key") for _ in range(30)]
    assert _ingest(store, settings, events)["accepted"] == 30
    assert _views(store, "late-key") == ({None: 30}, {"late-key"})
    with store.session() as s:
        add_aliases(s, cid, ["late-key"])
    assert _stored(store, "late-key") == {None: 30}  # nothing rewritten
    assert _views(store, "late-key") == ({cid: 30}, set())
    assert _events_of(store, cid) == 30
    with store.session() as s:
        shown = stored_events(s, [e["transaction_id"] for e in events])
        assert {e.customer_id for e in shown.values()} == {cid}
        assert read_overview(s, NOW).pending.events == 0
        assert resolve_pending(s) == 30
    assert _stored(store, "late-key") == {cid: 30}
    assert _views(store, "late-key") == ({cid: 30}, set())
    with store.session() as s:
        assert resolve_pending(s) == 0


def test_resending_events_after_an_attach_stores_each_once(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Dedup by the primary key holds across the attach: a re-sent batch is reported as
    duplicates, new events in it are attributed on the way in, nothing is stored twice."""
    cid = make_customer()
    first = [ev("dup-key") for _ in range(10)]
    _ingest(store, settings, first)
    with store.session() as s:
        add_aliases(s, cid, ["dup-key"])
    again = [*first, *(ev("dup-key") for _ in range(5))]
    assert _ingest(store, settings, again) == {"accepted": 5, "duplicate": 10, "rejected": 0}
    assert _stored(store, "dup-key") == {None: 10, cid: 5}
    assert _views(store, "dup-key") == ({cid: 15}, set())
    with store.session() as s:
        assert resolve_pending(s) == 10
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 15
    assert _stored(store, "dup-key") == {cid: 15}


def test_derived_events_follow_moves_releases_and_merges_without_a_sweep(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Events never swept follow the alias exactly as swept ones do, step by step."""
    first, second, survivor = make_customer(), make_customer(), make_customer()
    _ingest(store, settings, [ev("roaming") for _ in range(4)])
    with store.session() as s:
        add_aliases(s, first, ["roaming"], {"roaming": AliasOrigin("001000000000ROAAAA")})
    _ingest(store, settings, [ev("roaming") for _ in range(2)])  # attributed on the way in
    assert _stored(store, "roaming") == {None: 4, first: 2}
    with store.session() as s:
        move_alias(s, "roaming", second, AliasOrigin("001000000000ROAAAA"))
    assert _views(store, "roaming") == ({second: 6}, set())
    assert (_events_of(store, first), _events_of(store, second)) == (0, 6)
    with store.session() as s:
        merge_customers(s, second, survivor)
    assert _views(store, "roaming") == ({survivor: 6}, set())
    assert _events_of(store, survivor) == 6
    with store.session() as s:
        remove_aliases(s, survivor, ["roaming"])
    assert _views(store, "roaming") == ({None: 6}, {"roaming"})
    assert _events_of(store, survivor) == 0
    with store.session() as s:
        assert resolve_pending(s) == 0
        add_aliases(s, first, ["roaming"])
        archive_customer(s, first)  # releases it: pending again
    assert _views(store, "roaming") == ({None: 6}, {"roaming"})
    assert _stored(store, "roaming") == {None: 6}


def test_a_key_that_is_a_customers_id_is_derived_only_while_it_is_active(
    store: Store, settings: Settings, make_customer: MakeCustomer, add_events: AddEvents
) -> None:
    """An event keyed on a customer's id and stored without a customer (as one raced with
    the customer's creation is) is that customer's while it is active, pending once it is
    archived; a key in another text form is stored canonical and names it alike."""
    cid = make_customer()
    add_events(str(cid))  # stored without a customer
    _ingest(store, settings, [ev(str(cid)), ev(str(cid).upper())])
    assert _stored(store, str(cid)) == {None: 1, cid: 2}
    assert _views(store, str(cid)) == ({cid: 3}, set())
    assert _events_of(store, cid) == 3
    with store.session() as s:
        archive_customer(s, cid)
    assert _views(store, str(cid)) == ({None: 1, cid: 2}, {str(cid)})
    with store.session() as s:
        assert resolve_pending(s) == 0


@contextmanager
def _threads(*targets: Callable[[], None]) -> Iterator[list[BaseException]]:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    yield errors
    for t in threads:
        t.join(timeout=300)


def _retrying(action: Callable[[], None]) -> None:
    # Lock contention between the writers is a transient error the callers retry.
    for attempt in range(20):
        try:
            action()
            return
        except StoreError:
            if attempt == 19:
                raise


def test_ingest_racing_attach_move_and_release_is_exact_after_one_sweep(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """One thread ingests while another attaches, moves, releases and re-attaches the key:
    at the end every event is the final owner's, before the sweep and after one sweep."""
    first, second = make_customer(), make_customer()
    batches = [[ev("racy") for _ in range(20)] for _ in range(15)]

    def ingesting() -> None:
        for batch in batches:

            def send(batch: list[dict[str, Any]] = batch) -> None:
                _ingest(store, settings, batch)

            _retrying(send)

    def churning() -> None:
        for _ in range(4):
            for step in (
                lambda s: add_aliases(s, first, ["racy"]),
                lambda s: move_alias(s, "racy", second),
                lambda s: remove_aliases(s, second, ["racy"]),
            ):

                def apply(step: Callable[[Any], object] = step) -> None:
                    with store.session() as s:
                        step(s)

                _retrying(apply)
        with store.session() as s:
            add_aliases(s, second, ["racy"])

    with _threads(ingesting, churning) as errors:
        pass
    assert errors == []
    total = sum(len(b) for b in batches)
    assert _views(store, "racy") == ({second: total}, set())
    with store.session() as s:
        resolve_pending(s)
    assert _stored(store, "racy") == {second: total}
    assert _views(store, "racy") == ({second: total}, set())
    assert _events_of(store, second) == total
    assert _events_of(store, first) == 0
