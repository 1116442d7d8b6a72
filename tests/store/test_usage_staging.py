"""The set-based batch insert (PostgreSQL's COPY staging table, SQLite's JSON document):
dedup by constraint across batches and transactions, and exact attribution when alias
changes race with ingest."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from sfsync.config import Settings
from sfsync.models import Store, exactjson
from sfsync.models.aliases.attribution import attributed_customer
from sfsync.models.aliases.ownership import add_aliases, move_alias, remove_aliases
from sfsync.models.errors import StoreError
from sfsync.models.tables import UsageEvent
from sfsync.models.usage.events import NewEvent, resolve_pending
from sfsync.models.usage.insert import insert_events
from sfsync.sync.usage import UsageRules, ingest
from tests.store.conftest import MakeCustomer
from tests.store.usage_events import NOW, ev


def stored(store: Store) -> dict[str, uuid.UUID | None]:
    with store.session() as s:
        rows = s.execute(select(UsageEvent.transaction_id, attributed_customer(s)))
        return {tx: cid for tx, cid in rows}


def test_one_transaction_of_several_batches_stores_each_event_once_attributed(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """2,500 events (three batches) repeating ids across batches: one row each, its owner."""
    known, named = make_customer(), make_customer()
    with store.session() as s:
        add_aliases(s, known, ["known"])
    keys = ["known", str(named), "nobody"]
    events = [ev(keys[i % 3], tx=f"tx-{i % 1800:04d}") for i in range(2500)]
    with store.session() as s:
        report = ingest(s, events, UsageRules.of(settings), now=NOW)
    assert report.counts() == {"accepted": 1800, "duplicate": 700, "rejected": 0}
    owner_of = {"known": known, str(named): named, "nobody": None}
    expected = {f"tx-{i:04d}": owner_of[keys[i % 3]] for i in range(1800)}
    assert stored(store) == expected


def test_a_rolled_back_batch_leaves_nothing_behind_for_the_next(
    store: Store, settings: Settings
) -> None:
    """Rows staged by a transaction that rolled back are neither stored nor re-inserted."""

    class Abort(Exception):
        pass

    with pytest.raises(Abort), store.session() as s:
        ingest(s, [ev(tx=f"lost-{i}") for i in range(50)], UsageRules.of(settings), now=NOW)
        raise Abort
    for round_ in range(3):  # the pool hands the same connection (and staging table) back
        with store.session() as s:
            report = ingest(
                s,
                [ev(tx=f"kept-{round_}-{i}") for i in range(20)],
                UsageRules.of(settings),
                now=NOW,
            )
        assert report.accepted == 20
    assert sorted(stored(store)) == sorted(f"kept-{r}-{i}" for r in range(3) for i in range(20))


def test_alias_changes_racing_with_ingest_are_exact_after_one_sweep(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """An alias attached, moved, removed and re-attached while batches keyed on it commit:
    after one sweep every event is its final owner's."""
    first, second, final = make_customer(), make_customer(), make_customer()
    errors: list[BaseException] = []
    started = threading.Event()

    def producer() -> None:
        try:
            for b in range(30):
                batch = [ev("moving", tx=f"m-{b}-{i}") for i in range(100)]
                with store.session() as s:
                    ingest(s, batch, UsageRules.of(settings), now=NOW)
                started.set()
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)
            started.set()

    def operator() -> None:
        steps: list[Any] = [
            lambda s: add_aliases(s, first, ["moving"]),
            lambda s: move_alias(s, "moving", second),
            lambda s: remove_aliases(s, second, ["moving"]),
            lambda s: add_aliases(s, first, ["moving"]),
            lambda s: move_alias(s, "moving", final),
        ]
        try:
            assert started.wait(60)
            for step in steps:
                with store.session() as s:
                    step(s)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=producer), threading.Thread(target=operator)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert all(not t.is_alive() for t in threads)
    with store.session() as s:
        resolve_pending(s)
    owners = stored(store)
    assert len(owners) == 3000
    assert set(owners.values()) == {final}


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_copy_the_database_refuses_is_a_store_error_and_the_next_batch_flows(
    store: Store, settings: Settings, backend: str
) -> None:
    """A row PostgreSQL refuses mid-COPY surfaces as the store's error, not the driver's."""
    refused = NewEvent("bad", "key", "api_call", NOW, {}, "{not json")
    with pytest.raises(StoreError), store.session() as s:
        insert_events(s, [refused])
    with store.session() as s:
        assert ingest(s, [ev(tx="after")], UsageRules.of(settings), now=NOW).accepted == 1
    assert list(stored(store)) == ["after"]


def test_stored_properties_and_times_are_the_validated_text_on_each_backend(
    store: Store, settings: Settings
) -> None:
    """Numbers past 64 bits and fractions keep every digit; times keep microseconds in UTC."""
    big = "123456789012345678901234567890"
    event = ev(
        tx="exact",
        timestamp="2026-11-20T11:00:00.1234567+01:00",
        properties={"n": int(big), "amt": Decimal("1.10"), "name": "Zoë \u2603", "q": '"'},
    )
    with store.session() as s:
        assert ingest(s, [event], UsageRules.of(settings), now=NOW).accepted == 1
    with store.session() as s:
        props = s.execute(text("SELECT CAST(properties AS TEXT) FROM usage_events")).scalar_one()
        assert s.scalars(select(UsageEvent.timestamp)).one() == datetime(
            2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC
        )
    assert big in props and "1.10" in props
    assert exactjson.loads(props) == {
        "n": int(big),
        "amt": Decimal("1.10"),
        "name": "Zoë \u2603",
        "q": '"',
    }


def test_properties_that_are_not_json_are_refused_by_either_store(store: Store) -> None:
    """A batch handed to the store with invalid properties text is an error, never stored."""
    refused = NewEvent("bad", "key", "api_call", NOW, {}, "{not json")
    with pytest.raises(StoreError), store.session() as s:
        insert_events(s, [refused])
    assert stored(store) == {}
