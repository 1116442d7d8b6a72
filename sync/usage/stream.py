"""Ingesting a long stream of events (the CLI's `usage ingest`) in transactions sized by
events and time.

A transaction takes up to `CHUNK_EVENTS` events, or what arrives within `CHUNK_SECONDS`
of its first one, whichever ends first: large enough that commits, the tally and the
per-transaction set-up cost little per event, short enough that the aliases a chunk
share-locks (`models.usage.insert`) are released before an attach or move of one of them
waits long for them. What this keeps:

- a broken input (`UnreadableInput`, raised by the reader): every event read before the
  break is stored (the chunk in progress is committed), then the error goes on;
- a crash mid-stream loses at most the one chunk in progress (its transaction rolls back);
  re-running the same input stores it then, and the chunks committed before count as
  duplicates (dedup on `transaction_id`), so a re-run is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sfsync.sync.usage.errors import UnreadableInput
from sfsync.sync.usage.ingestion import ingest
from sfsync.sync.usage.rules import UsageRules

__all__ = ["CHUNK_EVENTS", "CHUNK_SECONDS", "StreamTotals", "ingest_stream"]

#: Most events one transaction of `ingest_stream` takes.
CHUNK_EVENTS = 20_000
#: Longest a transaction of `ingest_stream` goes on taking events, in seconds.
CHUNK_SECONDS = 0.5


@dataclass
class StreamTotals:
    """What an `ingest_stream` stored so far, and in how many transactions."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    transactions: int = 0
    events: int = field(default=0, init=False)

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected}


class _Chunk:
    """Up to `limit` events of the stream, or those arriving before `seconds` have passed
    since the first one; an `UnreadableInput` ends the chunk and is kept for later."""

    def __init__(
        self, first: tuple[Any, int], source: Iterator[tuple[Any, int]], limit: int, seconds: float
    ) -> None:
        self.first = first
        self.source = source
        self.limit = limit
        self.seconds = seconds
        self.taken = 0
        self.consumed = 0
        self.broken: UnreadableInput | None = None
        self.ended = False

    def __iter__(self) -> Iterator[Any]:
        deadline = time.monotonic() + self.seconds
        source, limit = self.source, self.limit
        event, self.consumed = self.first
        yield event
        self.taken = 1
        while self.taken < limit:
            try:
                event, self.consumed = next(source)
            except StopIteration:
                self.ended = True
                return
            except UnreadableInput as exc:
                self.broken, self.ended = exc, True
                return
            yield event
            self.taken += 1
            # The clock is read every 256 events: cheap, and fine-grained enough.
            if not self.taken & 255 and time.monotonic() > deadline:
                return


def ingest_stream(
    sessions: Callable[[], AbstractContextManager[Session]],
    events: Iterable[tuple[Any, int]],
    rules: UsageRules,
    *,
    chunk_events: int = CHUNK_EVENTS,
    chunk_seconds: float = CHUNK_SECONDS,
    progress: Callable[[StreamTotals, int], None] | None = None,
    now: datetime | None = None,
) -> StreamTotals:
    """Ingest `(event, bytes read so far)` pairs (`read_events`), one transaction per chunk
    (`sessions()` opens it and commits on leaving). `progress(totals, bytes read)` after
    each commit; `now` as `ingest` takes it. Raises the reader's `UnreadableInput` after
    storing what came before it."""
    totals = StreamTotals()
    source = iter(events)
    while True:
        # The first event is read before the transaction opens: an input that ends (or
        # breaks) there opens none.
        first = next(source, None)
        if first is None:
            return totals
        chunk = _Chunk(first, source, chunk_events, chunk_seconds)
        with sessions() as s:
            # One batch per transaction: its owners are share-locked once, in alias order,
            # the one lock order every alias path keeps (several batches in a transaction
            # would each lock in order, but not in one order across them: a deadlock with
            # a merge moving several aliases).
            report = ingest(s, chunk, rules, now=now, batch_size=chunk_events)
        totals.transactions += 1
        totals.accepted += report.accepted
        totals.duplicate += report.duplicate
        totals.rejected += report.rejected
        totals.events += chunk.taken
        if progress is not None:
            progress(totals, chunk.consumed)
        if chunk.broken is not None:
            raise chunk.broken
        if chunk.ended:
            return totals
