"""The runner is generic over its stream's cursor: an opaque replay-id stream runs and resumes.

A test-only stream reads events from memory, positioned by replay ids (text, no datetime),
as a Change Data Capture stream will be; the runner stores and passes them opaquely.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.operations.cursors import position
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import RunStatus, Stream
from sfsync.sync.salesforce import Page, RowPage, SalesforceClient, SourceRun
from sfsync.sync.streams.base import IncrementalStream


@dataclass(frozen=True)
class ReplayCursor:
    """A replay id as its own text; ids are fixed-width, so the greater text is newer."""

    def dump(self, value: str) -> str:
        return value

    def load(self, text: str) -> str:
        return text

    def newest(self, a: str, b: str) -> str:
        return max(a, b)


@dataclass(frozen=True)
class EventRow:
    """An event: its replay id, and no version timestamp."""

    id: str
    record: Mapping[str, Any]
    modstamp: datetime | None = None


@dataclass
class MemorySource:
    """Events kept in memory, read after a replay id, two to a page."""

    events: list[str]
    #: The replay id each read started after (None: from the beginning).
    starts: list[str | None] = field(default_factory=list)

    def start(self, cursor: str | None, full: bool, since: datetime | None) -> str | None:
        return None if full else cursor

    def read(self, start: str | None, run: SourceRun[str]) -> None:
        self.starts.append(start)
        after = [e for e in self.events if start is None or e > start]

        def pages() -> Any:
            for i in range(0, len(after), 2):
                chunk = after[i : i + 2]
                yield RowPage((EventRow(e, {"replayId": e}) for e in chunk), Page([], len(after)))

        run.feed(pages)

    def position(self, rows: RowPage[EventRow]) -> str | None:
        return max((row.id for row in rows), default=None)

    def backlog(self, rows: RowPage[EventRow], before: str | None) -> datetime | None:
        return None


class ReplayStream(IncrementalStream[EventRow, None, str]):
    """A stream positioned by replay ids (borrowing the opportunities stream's cursor row)."""

    name = Stream.OPPORTUNITIES
    task = "POLL_OPPORTUNITIES"
    cursor = ReplayCursor()

    def __init__(
        self,
        store: Store,
        client: SalesforceClient,
        settings: Settings,
        memory: MemorySource,
        applied: list[str],
    ) -> None:
        super().__init__(store, client, settings)
        self.memory, self.applied = memory, applied

    def source(self) -> MemorySource:
        return self.memory

    def prepare(self, rows: RowPage[EventRow]) -> None:
        return None

    def apply(
        self, session: Session, rows: RowPage[EventRow], page: None, counters: RunCounters
    ) -> None:
        self.applied.extend(row.id for row in rows)
        counters.records_seen += len(rows)


def test_a_stream_with_a_replay_id_cursor_runs_and_resumes_from_its_stored_cursor(
    store: Store, in_process_client: SalesforceClient, in_process_settings: Settings
) -> None:
    """The first run reads every event and stores the last replay id as text; the next run
    starts after it and reads only the events that came since."""
    memory = MemorySource([f"r-{n:06d}" for n in range(1, 6)])
    applied: list[str] = []

    first = ReplayStream(store, in_process_client, in_process_settings, memory, applied).run()

    assert first.status is RunStatus.SUCCEEDED, first.error
    assert applied == memory.events
    assert (first.cursor_before, first.cursor_after) == (None, "r-000005")
    with store.reader() as s:
        assert position(s, Stream.OPPORTUNITIES, ReplayCursor()) == "r-000005"

    memory.events += ["r-000006", "r-000007"]
    applied.clear()
    second = ReplayStream(store, in_process_client, in_process_settings, memory, applied).run()

    assert second.status is RunStatus.SUCCEEDED, second.error
    assert memory.starts == [None, "r-000005"]
    assert applied == ["r-000006", "r-000007"]
    assert second.counters.records_seen == 2
    assert second.summary()["cursor_after"] == "r-000007"
