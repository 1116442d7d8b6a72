"""One run of an incremental stream: lease, run record, pages, cursor — shared by both streams.

A run holds the stream's lease for its whole length (renewed with each page), so
overlapping beat ticks, manual runs and several workers never poll at once; a run that
finds the lease held records itself as `skipped`. Each page is applied in the same
transaction that moves the cursor, so the cursor never passes unprocessed work and a
crash re-reads at most one page. The cursor is capped at the run's start on Salesforce's
clock (the Date of its first page); the next run starts `SFSYNC_SYNC_LOOKBACK_SECONDS`
before it, because Salesforce can commit a row with a SystemModstamp older than one
already seen.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypedDict, TypeVar, Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import LeaseLost, Store, StoreError
from sfsync.models.operations.cursors import acquire_lease, advance, position, release_lease
from sfsync.models.operations.runs import (
    RunCounters,
    finish_run,
    note_backlog,
    record_ended,
    record_skipped,
    save_progress,
    start_run,
)
from sfsync.models.types import RunStatus, RunTrigger, Stream, utcnow
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping import parse_sf_datetime
from sfsync.sync.prefetch import prefetched
from sfsync.sync.salesforce import (
    Page,
    SalesforceClient,
    SalesforceError,
    SalesforceQueryLocatorExpired,
    SalesforceQueryTimeout,
    SalesforceThrottled,
)

__all__ = [
    "EARLIEST",
    "MAX_LOCATOR_RESTARTS",
    "MIN_WINDOW",
    "Progress",
    "Records",
    "RunOptions",
    "RunResult",
    "StreamSpec",
    "lease_owner",
    "not_connected",
    "page_position",
    "run_stream",
    "start_position",
]

log = logging.getLogger(__name__)

MAX_LOCATOR_RESTARTS = 3
#: Where halving an unbounded start begins: no Salesforce record is older.
EARLIEST = datetime(1999, 1, 1, tzinfo=UTC)
#: The narrowest window a QUERY_TIMEOUT may shrink a range to before the run fails.
MIN_WINDOW = timedelta(seconds=1)
Progress = Callable[[int], None]
Records = Sequence[Mapping[str, Any]]
P = TypeVar("P")


@dataclass
class RunResult:
    """The outcome of one poll."""

    run_id: int
    stream: Stream
    status: RunStatus
    counters: RunCounters = field(default_factory=RunCounters)
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """The result as JSON values: what a task returns and `sfsync sync run --json` prints."""
        return {
            "run_id": self.run_id,
            "stream": self.stream.value,
            "status": self.status.value,
            "error": self.error,
            **asdict(self.counters),
            "cursor_before": self.cursor_before.isoformat() if self.cursor_before else None,
            "cursor_after": self.cursor_after.isoformat() if self.cursor_after else None,
        }


@dataclass(frozen=True)
class StreamSpec(Generic[P]):
    """What makes a stream: its query, the Salesforce look-ups a page needs, how to apply it."""

    stream: Stream
    #: The query for records changed at or after `start` (None: all) and before `until`
    #: (None: no upper bound).
    query: Callable[[datetime | None, datetime | None], str]
    #: Salesforce calls a page needs, made before its transaction opens.
    prepare: Callable[[Records], P]
    #: Provision or dead-letter each record of the page, inside the page's transaction.
    apply: Callable[[Session, Records, P, RunCounters], None]
    #: Read through queryAll: rows deleted (or merged away) in Salesforce come too.
    include_deleted: bool = False
    #: Salesforce checks made before the first query, inside the run: a failure is the
    #: run's error (e.g. a bad SFSYNC_SF_OPPORTUNITY_FILTER), not a failing stream.
    preflight: Callable[[], None] | None = None
    #: Told the run's id once its record exists (revisions name the run that made them).
    on_start: Callable[[int], None] | None = None


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def start_position(
    cursor: datetime | None, settings: Settings, full: bool, since: datetime | None
) -> datetime | None:
    if since is not None:
        return since
    if full:
        return None
    if cursor is not None:
        return cursor - timedelta(seconds=settings.sync_lookback_seconds)
    return settings.sync_start


def page_position(records: Records, cap: datetime) -> datetime | None:
    """The newest SystemModstamp of a page, capped at the run's start."""
    stamps = []
    for rec in records:
        try:
            stamps.append(parse_sf_datetime(str(rec.get("SystemModstamp"))))
        except MappingError:
            continue
    return min(max(stamps), cap) if stamps else None


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
    spec: StreamSpec[P],
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of `spec`'s stream (see the module docstring)."""
    trigger = options.get("trigger", RunTrigger.BEAT)
    full = options.get("full", False)
    since = options.get("since")
    progress = options.get("progress")
    owner = options.get("owner") or lease_owner()
    with store.session() as s:
        if not acquire_lease(s, spec.stream, owner, settings.sync_lease_seconds):
            run = record_skipped(s, spec.stream, trigger, "another run holds the lease")
            return RunResult(run.id, spec.stream, RunStatus.SKIPPED, error=run.error)
    try:
        return _Run(spec, store, client, settings, owner, progress).run(trigger, full, since)
    finally:
        with store.session() as s:
            release_lease(s, spec.stream, owner)


def not_connected(store: Store, stream: Stream, trigger: RunTrigger, reason: str) -> RunResult:
    """A poll that cannot log in with these settings: one failed run saying why."""
    with store.session() as s:
        run = record_ended(s, stream, trigger, RunStatus.FAILED, reason)
    return RunResult(run.id, stream, RunStatus.FAILED, error=reason)


class _Run(Generic[P]):
    def __init__(
        self,
        spec: StreamSpec[P],
        store: Store,
        client: SalesforceClient,
        settings: Settings,
        owner: str,
        progress: Progress | None,
    ) -> None:
        self.spec, self.store, self.client, self.settings = spec, store, client, settings
        self.owner, self.progress = owner, progress
        self.started = utcnow()
        #: The cursor's cap: Salesforce's clock when it served the run's first page.
        self.cap: datetime | None = None
        self.calls_before = client.api_calls
        self.pages = 0
        #: the newest position this run committed itself (None until its first page): unlike
        #: the stored cursor, it is where a --full or --since run has actually read up to.
        self.reached: datetime | None = None

    def run(self, trigger: RunTrigger, full: bool, since: datetime | None) -> RunResult:
        with self.store.session() as s:
            cursor_before = position(s, self.spec.stream)
            run = start_run(s, self.spec.stream, trigger, cursor_before)
        self.result = RunResult(
            run.id, self.spec.stream, RunStatus.RUNNING, cursor_before=cursor_before
        )
        if self.spec.on_start is not None:
            self.spec.on_start(run.id)
        self.cursor = cursor_before
        try:
            # A worker keeps its client between runs: an earlier run's reading must not refuse
            # this one's calls without a look at the allowance now.
            self.client.refresh_budget()
            if self.spec.preflight is not None:
                self.spec.preflight()
            self._pages(start_position(cursor_before, self.settings, full, since))
        except SalesforceThrottled as exc:
            self._finish(RunStatus.THROTTLED, str(exc))
            return self.result
        except (SalesforceError, StoreError, LeaseLost) as exc:
            log.warning("%s run %s failed: %s", self.spec.stream, run.id, exc)
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        self._finish(RunStatus.SUCCEEDED, None)
        return self.result

    def _pages(self, start: datetime | None) -> None:
        """The range from `start` in one query, or in time windows once it timed out.

        QUERY_TIMEOUT is deterministic for a range that is too wide (Singer's tap-salesforce
        and Airbyte slice by date for it): the window is halved and the same start asked
        again, down to `MIN_WINDOW`; the rest of the range then goes in windows of that
        width, each committed page by page as before. The last window is open-ended.
        """
        width: timedelta | None = None
        low = start
        while True:
            until = None if width is None or low is None else low + width
            if until is not None and until >= self.started:
                until = None
            try:
                self._window(low, until)
            except SalesforceQueryTimeout:
                floor = low if low is not None else EARLIEST
                wide = (until if until is not None else self.started) - floor
                if wide <= MIN_WINDOW:
                    raise
                width, low = max(wide / 2, MIN_WINDOW), floor
                counters = self.result.counters
                counters.window_shrinks += 1
                counters.window_seconds = int(width.total_seconds())
                log.info(
                    "%s run %s: QUERY_TIMEOUT, window halved to %s",
                    self.spec.stream,
                    self.result.run_id,
                    width,
                )
                continue
            if until is None:
                return
            low = until

    def _window(self, start: datetime | None, until: datetime | None) -> None:
        origin = start
        for attempt in range(MAX_LOCATOR_RESTARTS + 1):
            try:
                # Salesforce I/O for the next page overlaps this page's transaction.
                fetch = self._fetch(start, until)
                with prefetched(fetch, name=f"sfsync-{self.spec.stream}") as pages:
                    for records, prepared in pages:
                        self._page(records, prepared)
                return
            except SalesforceQueryLocatorExpired:
                # The query cursor expired between pages: restart from what this run committed.
                if attempt == MAX_LOCATOR_RESTARTS:
                    raise
                start = self._restart_position(origin)

    def _restart_position(self, origin: datetime | None) -> datetime | None:
        """Where to query again after an expired locator: the lookback before what this run
        committed, never before where it began. Not the stored cursor: a --full or --since run
        starts behind it, and restarting there would skip every record in between."""
        if self.reached is None:
            return origin
        back = self.reached - timedelta(seconds=self.settings.sync_lookback_seconds)
        return back if origin is None else max(origin, back)

    def _fetch(
        self, start: datetime | None, until: datetime | None
    ) -> Callable[[], Iterator[tuple[Records, P]]]:
        """The query's pages with their Salesforce look-ups (run in the prefetch thread)."""

        def pages() -> Iterator[tuple[Records, P]]:
            soql = self.spec.query(start, until)
            for records in self.client.query_pages(soql, include_deleted=self.spec.include_deleted):
                yield records, self.spec.prepare(records)

        return pages

    def _page(self, records: Records, prepared: P) -> None:
        self._note_backlog(records)
        counters = self.result.counters
        with self.store.session() as s:
            self.spec.apply(s, records, prepared, counters)
            at = page_position(records, self._cap(records))
            if at is not None:
                advance(s, self.spec.stream, self.owner, at, self.settings.sync_lease_seconds)
                self.cursor = max(self.cursor, at) if self.cursor else at
                self.reached = max(self.reached, at) if self.reached else at
            counters.api_calls = self.client.api_calls - self.calls_before
            save_progress(s, self.result.run_id, counters, self.cursor)
        self.pages += 1
        if self.pages & (self.pages - 1) == 0:
            # Pages 1, 2, 4, 8, ...: statistics follow a store that grows geometrically.
            self.store.refresh_statistics()
        if self.progress is not None:
            self.progress(len(records))

    def _note_backlog(self, records: Records) -> None:
        """Record the oldest change of the page not applied before this run (records at or
        before the starting cursor are the lookback's re-reads), for `sync status` and
        /metrics to show while the page is applied. A page of re-reads notes nothing."""
        before = self.result.cursor_before
        stamps = []
        for rec in records:
            try:
                stamp = parse_sf_datetime(str(rec.get("SystemModstamp")))
            except MappingError:
                continue
            if before is None or stamp > before:
                stamps.append(stamp)
        if stamps:
            with self.store.session() as s:
                note_backlog(s, self.result.run_id, min(stamps))

    def _cap(self, records: Records) -> datetime:
        """Salesforce's time at the run's first page (its Date header): the worker's clock,
        slow or fast, never decides where the cursor stops. The worker's start time only
        when a response carried no Date."""
        if self.cap is None:
            served = records.server_time if isinstance(records, Page) else None
            self.cap = served or self.started
        return self.cap

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
                self.cursor,
                error,
                api_usage=self.client.api_usage,
            )
        log.info(
            "%s run %s %s in %.1fs: %s",
            self.spec.stream,
            result.run_id,
            status,
            (utcnow() - self.started).total_seconds(),
            ", ".join(
                f"{f.name}={getattr(result.counters, f.name)}" for f in fields(result.counters)
            ),
            extra={"run_id": result.run_id, "stream": str(self.spec.stream), "status": str(status)},
        )
