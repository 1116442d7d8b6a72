"""Usage in the store: ingest accounting, dedup, dead letters, attribution and summaries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.aliases.ownership import add_aliases, move_alias, remove_aliases
from sfsync.models.tables import DeadLetter, IngestAlias, UsageEvent
from sfsync.models.types import DeadLetterSource
from sfsync.models.usage.events import get_event, pending_keys, resolve_pending
from sfsync.models.usage.summary import GroupBy, summarize
from sfsync.sync.usage import EventOutcome, UsageRules, ingest
from tests.store.conftest import MakeCustomer
from tests.store.usage_events import NOW, ev, owners


def run(store: Store, settings: Settings, events: list[Any]) -> Any:
    with store.session() as s:
        return ingest(s, events, UsageRules.of(settings), now=NOW)


def test_ingest_accounts_for_every_input(store: Store, settings: Settings) -> None:
    """accepted + duplicate + rejected equals the inputs; each result names its outcome."""
    report = run(store, settings, [ev(tx="a"), ev(tx="b"), ev(tx="a"), "junk", ev(tx="")])
    assert report.counts() == {"accepted": 2, "duplicate": 1, "rejected": 2}
    assert [r.outcome for r in report.results] == [
        EventOutcome.ACCEPTED,
        EventOutcome.ACCEPTED,
        EventOutcome.DUPLICATE,
        EventOutcome.REJECTED,
        EventOutcome.REJECTED,
    ]
    assert [r.index for r in report.results] == [0, 1, 2, 3, 4]


def test_results_across_batches_come_in_input_order_and_by_outcome(
    store: Store, settings: Settings
) -> None:
    """Over several batches (stored copies, copies in the batch, rejections) every input has
    one result in input order, and `results_with` gives the same ones by outcome."""
    run(store, settings, [ev(tx=f"old-{i}") for i in range(0, 2500, 7)])
    events: list[Any] = []
    for i in range(2500):
        if i % 11 == 0:
            events.append(ev(tx=f"bad-{i}", timestamp="yesterday"))
        elif i % 13 == 0:
            events.append(ev(tx=f"new-{i - 1}"))  # a copy of the event before it
        else:
            events.append(ev(tx=f"old-{i}" if i % 7 == 0 else f"new-{i}"))
    report = run(store, settings, events)
    assert [r.index for r in report.results] == list(range(2500))
    for outcome in EventOutcome:
        wanted = tuple(r for r in report.results if r.outcome is outcome)
        assert report.results_with(outcome) == wanted
        assert len(wanted) == report.counts()[outcome.value]
    by_index = {r.index: r for r in report.results}
    assert by_index[14].transaction_id == "old-14"
    assert by_index[14].outcome is EventOutcome.DUPLICATE
    assert by_index[26].outcome is EventOutcome.DUPLICATE  # 26 repeats 25
    assert by_index[22].outcome is EventOutcome.REJECTED
    assert by_index[1].outcome is EventOutcome.ACCEPTED
    with store.session() as s:
        stored = set(s.scalars(select(UsageEvent.transaction_id)))
    accepted = {r.transaction_id for r in report.results_with(EventOutcome.ACCEPTED)}
    assert accepted <= stored and not any(tx.startswith("bad-") for tx in stored)


def test_duplicate_of_a_stored_event_says_whether_the_payload_differs(
    store: Store, settings: Settings
) -> None:
    """A resent id is a duplicate; a different payload is reported and the first copy kept."""
    run(store, settings, [ev(tx="dup", properties={"n": 1})])
    report = run(
        store, settings, [ev(tx="dup", properties={"n": 1}), ev(tx="dup", properties={"n": 2})]
    )
    same, other = report.results
    assert (same.outcome, same.payload_differs) == (EventOutcome.DUPLICATE, False)
    assert (other.outcome, other.payload_differs) == (EventOutcome.DUPLICATE, True)
    assert other.reason is not None and "properties" in other.reason
    with store.session() as s:
        assert get_event(s, "dup").properties == {"n": 1}


def test_rejected_events_become_dead_letters_with_payload(store: Store, settings: Settings) -> None:
    """A rejected event is a usage.event dead letter with its id, payload and reason."""
    bad = ev(tx="old", timestamp="2026-09-01T00:00:00Z")
    run(store, settings, [bad, [1, 2]])
    with store.session() as s:
        letters = list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert [letter.source for letter in letters] == [DeadLetterSource.USAGE_EVENT] * 2
    assert letters[0].reference == "old"
    assert letters[0].payload == bad
    assert letters[0].error_class == "InvalidUsageEvent"
    assert "80 days old" in letters[0].error_message
    assert letters[1].reference is None and letters[1].payload == [1, 2]


def test_events_are_attributed_at_insert_by_alias_or_customer_id(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Keys that are an attached alias or a customer id (in any spelling, stored canonical)
    are attributed; others are pending."""
    cid = make_customer(aliases=["known"])
    run(
        store,
        settings,
        [ev("known"), ev(str(cid)), ev(str(cid).upper()), ev(cid.hex), ev("nobody")],
    )
    assert owners(store, "known") == {cid: 1}
    assert owners(store, str(cid)) == {cid: 3}
    with store.session() as s:
        assert {p.customer_key for p in pending_keys(s)} == {"nobody"}


def test_alias_story_pending_attach_move_remove(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Usage for an unheld alias is pending; attach attributes, move moves, remove detaches."""
    first, second = make_customer(), make_customer()
    run(store, settings, [ev("IngestAlias1") for _ in range(3)])
    assert owners(store, "IngestAlias1") == {None: 3}
    with store.session() as s:
        add_aliases(s, first, ["IngestAlias1"])
    assert owners(store, "IngestAlias1") == {first: 3}
    run(store, settings, [ev("IngestAlias1")])
    assert owners(store, "IngestAlias1") == {first: 4}
    with store.session() as s:
        move_alias(s, "IngestAlias1", second)
    assert owners(store, "IngestAlias1") == {second: 4}
    with store.session() as s:
        remove_aliases(s, second, ["IngestAlias1"])
    assert owners(store, "IngestAlias1") == {None: 4}
    with store.session() as s:
        assert resolve_pending(s) == 0


def test_resolve_pending_fixes_events_that_missed_the_attach(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """An alias row that appeared without re-attributing its usage is fixed by one sweep."""
    cid = make_customer()
    run(store, settings, [ev("raced") for _ in range(5)] + [ev(str(cid))])
    with store.session() as s:
        # What an attach leaves when the event commits after the attach's UPDATE ran.
        s.execute(
            insert(IngestAlias),
            [{"alias": "raced", "customer_id": cid, "created_at": NOW}],
        )
        s.execute(update(UsageEvent).values(customer_id=None))
    with store.session() as s:
        assert resolve_pending(s, batch_size=2) == 6
    with store.session() as s:
        assert resolve_pending(s) == 0
    assert owners(store, "raced") == {cid: 5}
    assert owners(store, str(cid)) == {cid: 1}


# PostgreSQL only: SQLite serialises writers, so there an ingest cannot interleave with the
# attach's open transaction.
@pytest.mark.parametrize("backend", ["postgres"])
def test_event_ingested_during_an_attach_is_attributed_once_both_commit(
    store: Store, settings: Settings, make_customer: MakeCustomer, backend: str
) -> None:
    """On PostgreSQL an ingest committing inside an open attach is stored without a customer
    (the alias is not visible to it yet), is the owner's as soon as the attach commits
    (derived from the alias table, no sweep needed), and one sweep writes that into the row."""
    cid = make_customer()
    with store.session() as attach:
        add_aliases(attach, cid, ["IngestAlias1"])  # not yet committed
        run(store, settings, [ev("IngestAlias1")])  # another transaction commits meanwhile
        assert owners(store, "IngestAlias1") == {None: 1}
    assert owners(store, "IngestAlias1") == {cid: 1}
    with store.session() as s:
        assert pending_keys(s) == []
        stored = s.scalar(
            select(UsageEvent.customer_id).where(UsageEvent.customer_key == "IngestAlias1")
        )
        assert stored is None
        assert resolve_pending(s) == 1
    assert owners(store, "IngestAlias1") == {cid: 1}
    with store.session() as s:
        stored = s.scalar(
            select(UsageEvent.customer_id).where(UsageEvent.customer_key == "IngestAlias1")
        )
        assert stored == cid
        assert resolve_pending(s) == 0


def test_summary_groups_by_alias_event_type_and_property(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Counts and exact sums per sub-organisation alias, event type or property value."""
    cid = make_customer(aliases=["eu-org", "us-org"])
    other = make_customer(aliases=["elsewhere"])
    run(
        store,
        settings,
        [
            ev("eu-org", properties={"gb": "0.1", "region": "eu"}),
            ev("eu-org", properties={"gb": 0.2, "region": "eu"}, event_type="storage"),
            ev("us-org", properties={"gb": "lots", "region": "us"}),
            ev(str(cid), properties={"gb": 1}),
            ev("elsewhere", properties={"gb": 100}),
            ev("eu-org", timestamp="2026-11-01T00:00:00Z", properties={"gb": 5}),
        ],
    )
    start = NOW - timedelta(days=2)
    with store.session() as s:
        by_alias = summarize(s, cid, start=start, group_by=[GroupBy.parse("alias")], sums=["gb"])
        by_type = summarize(s, cid, start=start, group_by=[GroupBy.parse("event_type")])
        by_region = summarize(s, cid, start=start, group_by=[GroupBy.parse("property:region")])
        total = summarize(s, cid, sums=["gb"])
        nothing = summarize(s, other, end=NOW - timedelta(days=30))
    assert {r.key["alias"]: (r.events, r.sums["gb"]) for r in by_alias} == {
        "eu-org": (2, Decimal("0.3")),
        "us-org": (1, Decimal(0)),
        str(cid): (1, Decimal(1)),
    }
    assert {r.key["event_type"]: r.events for r in by_type} == {"api_call": 3, "storage": 1}
    assert [(r.key["property:region"], r.events) for r in by_region] == [
        (None, 1),
        ("eu", 2),
        ("us", 1),
    ]
    assert [(r.events, r.sums["gb"]) for r in total] == [(5, Decimal("6.3"))]
    assert nothing == []


@st.composite
def streams(draw: st.DrawFn) -> list[Any]:
    ids = st.sampled_from(["a", "b", "c", "d", ""]) | st.text(max_size=3)
    good = st.builds(
        lambda tx, key: ev(key, tx=tx),
        ids,
        st.sampled_from(["k1", "k2", "x" * 129]),
    )
    bad = st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=5),
        st.builds(lambda tx: ev(tx=tx, timestamp="2020-01-01T00:00:00Z"), ids),
        st.builds(lambda tx: ev(tx=tx, properties=[1]), ids),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    )
    return draw(st.lists(st.one_of(good, bad), max_size=25))


def test_summary_sums_are_plain_decimals_on_every_backend(
    store: Store, settings: Settings, make_customer: MakeCustomer
) -> None:
    """Sums read the same on SQLite and PostgreSQL: no exponent, no trailing zeros."""
    cid = make_customer(aliases=["plain-org"])
    run(
        store,
        settings,
        [
            ev("plain-org", properties={"n": "1e4", "m": "1.50"}),
            ev("plain-org", properties={"n": 10630, "m": "1.50"}),
        ],
    )
    with store.session() as s:
        (row,) = summarize(s, cid, sums=["n", "m"])
    assert {name: str(total) for name, total in row.sums.items()} == {"n": "20630", "m": "3"}


@hyp_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=streams())
def test_fuzzed_stream_is_fully_accounted_for(
    store: Store, settings: Settings, events: list[Any]
) -> None:
    """Any mix of valid and invalid events: every input accepted, duplicate or dead-lettered."""
    prefix = f"{uuid.uuid4().hex[:6]}-"
    for e in events:
        if isinstance(e, dict) and isinstance(e.get("transaction_id"), str) and e["transaction_id"]:
            e["transaction_id"] = prefix + e["transaction_id"]
    # Letters merge per (source, reference), so each rejection is one attempt, not one row.
    attempts = select(func.coalesce(func.sum(DeadLetter.attempts), 0))
    with store.session() as s:
        letters_before = s.scalar(attempts) or 0
    report = run(store, settings, events)
    assert report.total == len(events) == len(report.results)
    with store.session() as s:
        stored = set(
            s.scalars(
                select(UsageEvent.transaction_id).where(
                    UsageEvent.transaction_id.startswith(prefix)
                )
            )
        )
        letters = (s.scalar(attempts) or 0) - letters_before
    accepted = {r.transaction_id for r in report.results if r.outcome is EventOutcome.ACCEPTED}
    assert stored == accepted and len(accepted) == report.accepted
    assert letters == report.rejected
