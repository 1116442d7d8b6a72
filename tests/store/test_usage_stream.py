"""`ingest_stream`: a long stream in transactions sized by events and time, what came
before a broken input stored, a crash losing at most the chunk in progress."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.tables import UsageEvent
from sfsync.sync.usage import UnreadableInput, UsageRules, ingest_stream
from sfsync.sync.usage.stream import CHUNK_EVENTS


def _events(n: int, first: int = 0) -> list[dict[str, Any]]:
    recent = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "transaction_id": f"stream-{i:06d}",
            "customer_id": f"org-{i % 7}",
            "event_type": "api_call",
            "timestamp": recent,
            "properties": {"n": i},
        }
        for i in range(first, first + n)
    ]


def _read(events: list[dict[str, Any]], then: Exception | None = None) -> Iterator[Any]:
    """`read_events`' shape: each event with a byte count; optionally raising at the end."""
    for i, event in enumerate(events):
        yield event, i + 1
    if then is not None:
        raise then


def _stored(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(UsageEvent)) or 0)


def test_a_stream_commits_in_chunks_of_the_given_size(store: Store, settings: Settings) -> None:
    """2,500 events in chunks of 1,000: three transactions, every event stored once."""
    totals = ingest_stream(
        store.session, _read(_events(2500)), UsageRules.of(settings), chunk_events=1000
    )
    assert (totals.transactions, totals.events, totals.accepted) == (3, 2500, 2500)
    assert _stored(store) == 2500


def test_the_default_chunk_takes_many_events_in_one_transaction(
    store: Store, settings: Settings
) -> None:
    """5,000 events (five of `ingest`'s default batches) commit as one transaction."""
    assert CHUNK_EVENTS >= 20_000
    totals = ingest_stream(store.session, _read(_events(5000)), UsageRules.of(settings))
    assert (totals.transactions, totals.accepted) == (1, 5000)


def test_a_chunk_ends_when_its_time_is_up(store: Store, settings: Settings) -> None:
    """With no time allowed, a chunk ends at the first clock reading (every 256 events)."""
    totals = ingest_stream(
        store.session, _read(_events(1000)), UsageRules.of(settings), chunk_seconds=0.0
    )
    assert (totals.transactions, totals.accepted) == (4, 1000)
    assert _stored(store) == 1000


def test_what_came_before_a_broken_input_is_stored(store: Store, settings: Settings) -> None:
    """The reader breaks after 1,500 events: all 1,500 are committed, then the error goes on."""
    seen: list[int] = []
    with pytest.raises(UnreadableInput):
        ingest_stream(
            store.session,
            _read(_events(1500), UnreadableInput("the JSON array is not closed with ']'")),
            UsageRules.of(settings),
            progress=lambda totals, _: seen.append(totals.events),
        )
    assert seen == [1500]
    assert _stored(store) == 1500


def test_a_crash_loses_one_chunk_and_a_rerun_is_idempotent(
    store: Store, settings: Settings
) -> None:
    """A crash after 2,500 events (chunks of 1,000) keeps the two committed chunks; running
    the input again stores the rest once and counts the first 2,000 as duplicates."""
    rules = UsageRules.of(settings)
    with pytest.raises(RuntimeError):
        ingest_stream(
            store.session, _read(_events(2500), RuntimeError("killed")), rules, chunk_events=1000
        )
    assert _stored(store) == 2000
    totals = ingest_stream(store.session, _read(_events(2500)), rules, chunk_events=1000)
    assert totals.counts() == {"accepted": 500, "duplicate": 2000, "rejected": 0}
    assert _stored(store) == 2500


def test_an_empty_stream_opens_no_transaction(store: Store, settings: Settings) -> None:
    """Nothing read, nothing written (not even the tally)."""
    totals = ingest_stream(store.session, _read([]), UsageRules.of(settings))
    assert totals.transactions == 0 and _stored(store) == 0
