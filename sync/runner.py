"""One run of an incremental stream: run record, pages, cursor — for every stream alike.

The run holds its stream's lease (`sync.streams.lease.leased_run`) for its whole length,
renewed with each page. Its records come from the stream's source (a port: the SOQL source
today, `sync.salesforce.SoqlSource`, which also owns time windows and query-locator
restarts), as rows parsed once at the adapter. Each page is applied in the same
transaction that moves the cursor, so the cursor never passes unprocessed work and a
crash re-reads at most one page. The cursor's type is the stream's (`C`: a SystemModstamp
today, a replay id tomorrow): the runner stores it as text through the stream's
`CursorCodec` and passes it to the source opaquely. Where a run starts from the stored
cursor (a lookback), and where a page moves it (capped at Salesforce's clock), is the
source's business (`SoqlSource.start`, `SoqlSource.position`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypedDict, TypeVar

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import LeaseLost, Store, StoreError
from sfsync.models.operations.cursors import CursorCodec, advance, position
from sfsync.models.operations.runs import (
    RunCounters,
    finish_run,
    note_backlog,
    record_ended,
    save_progress,
    start_run,
)
from sfsync.models.types import RunStatus, RunTrigger, Stream, utcnow
from sfsync.sync.prefetch import prefetched
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import (
    Row,
    RowPage,
    SalesforceClient,
    SalesforceError,
    SalesforceThrottled,
    SourceRun,
)

__all__ = [
    "Progress",
    "RecordSource",
    "RunOptions",
    "StreamSpec",
    "not_connected",
    "run_stream",
]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
P = TypeVar("P")
C = TypeVar("C")
R = TypeVar("R", bound=Row)


class RecordSource(Protocol[R, C]):
    """A stream's source of rows (the port; `sync.salesforce.SoqlSource` implements it),
    positioned by cursors of type `C`."""

    def start(self, cursor: C | None, full: bool, since: datetime | None) -> C | None:
        """Where a run reads from, given the stored cursor and how the run was asked for
        (None: from the beginning)."""

    def read(self, start: C | None, run: SourceRun[C]) -> None:
        """Feed `run` every page from `start` (None: from the beginning)."""

    def position(self, rows: RowPage[R]) -> C | None:
        """A committed page's position: where the cursor may move (None: it stays)."""

    def backlog(self, rows: RowPage[R], before: C | None) -> datetime | None:
        """The oldest change of the page not applied before the run began at `before`."""


@dataclass(frozen=True)
class StreamSpec(Generic[R, P, C]):
    """What one run of a stream needs: its source, its cursor, `prepare` and `apply`."""

    stream: Stream
    #: Where the rows come from.
    source: RecordSource[R, C]
    #: Salesforce calls a page needs, made before its transaction opens (look-ahead thread).
    prepare: Callable[[RowPage[R]], P]
    #: Provision or dead-letter each row of the page, inside the page's transaction.
    apply: Callable[[Session, RowPage[R], P, RunCounters], None]
    #: How the cursor is stored and ordered.
    cursor: CursorCodec[C]
    #: Salesforce checks made before the first query, inside the run: a failure is the
    #: run's error (e.g. a bad SFSYNC_SF_OPPORTUNITY_FILTER), not a failing stream.
    preflight: Callable[[], None] | None = None
    #: Told the run's id once its record exists (revisions name the run that made them).
    on_start: Callable[[int], None] | None = None


class RunOptions(TypedDict, total=False):
    """How a run was asked for; every stream's `poll_*` function takes these keywords."""

    trigger: RunTrigger
    #: Ignore the cursor: read everything.
    full: bool
    #: Read changes since this instant instead of the cursor.
    since: datetime | None
    #: The lease owner (default: host, pid and a random suffix).
    owner: str | None
    #: Called with the number of records of each committed page.
    progress: Progress | None


def run_stream(
    spec: StreamSpec[R, P, C],
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    owner: str,
    *,
    trigger: RunTrigger = RunTrigger.BEAT,
    full: bool = False,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """One run of `spec`'s stream under `owner`'s lease (see the module docstring)."""
    return _Run(spec, store, client, settings, owner, progress).run(trigger, full, since)


def not_connected(store: Store, stream: Stream, trigger: RunTrigger, reason: str) -> RunResult:
    """A poll that cannot log in with these settings: one failed run saying why."""
    with store.session() as s:
        run = record_ended(s, stream, trigger, RunStatus.FAILED, reason)
    return RunResult(run.id, stream, RunStatus.FAILED, error=reason)


class _Run(Generic[R, P, C]):
    """One run; also the `SourceRun` its source feeds."""

    def __init__(
        self,
        spec: StreamSpec[R, P, C],
        store: Store,
        client: SalesforceClient,
        settings: Settings,
        owner: str,
        progress: Progress | None,
    ) -> None:
        self.spec, self.store, self.client, self.settings = spec, store, client, settings
        self.owner, self.progress = owner, progress
        self.started = utcnow()
        self.label = str(spec.stream)
        self.calls_before = client.api_calls
        self.pages = 0
        #: the newest position this run committed itself (None until its first page): unlike
        #: the stored cursor, it is where a --full or --since run has actually read up to.
        self.committed: C | None = None

    def run(self, trigger: RunTrigger, full: bool, since: datetime | None) -> RunResult:
        codec = self.spec.cursor
        with self.store.session() as s:
            cursor_before = position(s, self.spec.stream, codec)
            stored = codec.dump(cursor_before) if cursor_before is not None else None
            run = start_run(s, self.spec.stream, trigger, stored)
        self.result = RunResult(
            run.id, self.spec.stream, RunStatus.RUNNING, cursor_before=cursor_before
        )
        self.cursor_before: C | None = cursor_before
        self.label = f"{self.spec.stream} run {run.id}"
        if self.spec.on_start is not None:
            self.spec.on_start(run.id)
        self.cursor = cursor_before
        try:
            # A worker keeps its client between runs: an earlier run's reading must not refuse
            # this one's calls without a look at the allowance now.
            self.client.refresh_budget()
            if self.spec.preflight is not None:
                self.spec.preflight()
            source = self.spec.source
            source.read(source.start(cursor_before, full, since), self)
        except SalesforceThrottled as exc:
            self._finish(RunStatus.THROTTLED, str(exc))
            return self.result
        except (SalesforceError, StoreError, LeaseLost) as exc:
            log.warning("%s failed: %s", self.label, exc)
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        self._finish(RunStatus.SUCCEEDED, None)
        return self.result

    # The `SourceRun` the source feeds.

    def feed(self, pages: Callable[[], Iterator[RowPage[R]]]) -> None:
        def prepared() -> Iterator[tuple[RowPage[R], P]]:
            for page in pages():
                yield page, self.spec.prepare(page)

        # Salesforce I/O for the next page overlaps this page's transaction.
        with prefetched(prepared, name=f"sfsync-{self.spec.stream}") as ahead:
            for page, prep in ahead:
                self._page(page, prep)

    def reached(self) -> C | None:
        return self.committed

    def shrunk(self, width: timedelta) -> None:
        counters = self.result.counters
        counters.window_shrinks += 1
        counters.window_seconds = int(width.total_seconds())

    def _page(self, rows: RowPage[R], prepared: P) -> None:
        self._note_backlog(rows)
        counters = self.result.counters
        codec = self.spec.cursor
        with self.store.session() as s:
            self.spec.apply(s, rows, prepared, counters)
            at = self.spec.source.position(rows)
            if at is not None:
                ttl = self.settings.sync_lease_seconds
                advance(s, self.spec.stream, self.owner, at, ttl, codec)
                self.cursor = at if self.cursor is None else codec.newest(self.cursor, at)
                self.committed = at if self.committed is None else codec.newest(self.committed, at)
            counters.api_calls = self.client.api_calls - self.calls_before
            save_progress(s, self.result.run_id, counters, self._stored(self.cursor))
        self.pages += 1
        if self.pages & (self.pages - 1) == 0:
            # Pages 1, 2, 4, 8, ...: statistics follow a store that grows geometrically.
            self.store.refresh_statistics()
        if self.progress is not None:
            self.progress(len(rows))

    def _stored(self, cursor: C | None) -> str | None:
        return self.spec.cursor.dump(cursor) if cursor is not None else None

    def _note_backlog(self, rows: RowPage[R]) -> None:
        """Record the oldest change of the page not applied before this run (the source
        says which), for `sync status` and /metrics to show while the page is applied. A
        page of re-reads notes nothing."""
        oldest = self.spec.source.backlog(rows, self.cursor_before)
        if oldest is not None:
            with self.store.session() as s:
                note_backlog(s, self.result.run_id, oldest)

    def _finish(self, status: RunStatus, error: str | None) -> None:
        result = self.result
        result.status, result.cursor_after, result.error = status, self.cursor, error
        result.counters.api_calls = self.client.api_calls - self.calls_before
        with self.store.session() as s:
            finish_run(
                s,
                result.run_id,
                status,
                result.counters,
                self._stored(self.cursor),
                error,
                api_usage=self.client.api_usage,
            )
        log.info(
            "%s %s in %.1fs: %s",
            self.label,
            status,
            (utcnow() - self.started).total_seconds(),
            ", ".join(
                f"{f.name}={getattr(result.counters, f.name)}" for f in fields(result.counters)
            ),
            extra={"run_id": result.run_id, "stream": str(self.spec.stream), "status": str(status)},
        )
