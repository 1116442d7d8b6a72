"""The SOQL record source: a stream's rows from Salesforce, in time windows when it must.

A stream's runner (`sync.runner`) asks its source to `read` from a cursor and hands it a
`SourceRun`: `feed` applies a run of pages (each committed as it comes), `reached` says
how far the run has committed. What is Salesforce's business stays here:

- **QUERY_TIMEOUT** is deterministic for a range that is too wide (Singer's
  tap-salesforce and Airbyte slice by date for it): the window is halved and the same
  start asked again, down to `MIN_WINDOW`; the rest of the range then goes in windows of
  that width. The last window is open-ended.
- **An expired query locator** (between pages): the query is asked again from the
  lookback before what the run committed, never before where it began, at most
  `MAX_LOCATOR_RESTARTS` times.

A SOQL stream's position is an instant: the newest SystemModstamp of what it committed,
capped at the run's start on Salesforce's clock (the Date of its first page), so the
worker's clock never decides where the cursor stops (`position`). A run starts `lookback`
before the stored cursor, because Salesforce can commit a row with a SystemModstamp older
than one already seen (`start`). The runner knows none of this: it stores and passes the
position as its stream's `CursorCodec` says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sfsync.sync.salesforce.client import Page, SalesforceClient
from sfsync.sync.salesforce.errors import SalesforceQueryLocatorExpired, SalesforceQueryTimeout
from sfsync.sync.salesforce.rows import Row

__all__ = [
    "EARLIEST",
    "MAX_LOCATOR_RESTARTS",
    "MIN_WINDOW",
    "RowPage",
    "SoqlSource",
    "SourceRun",
]

log = logging.getLogger(__name__)

MAX_LOCATOR_RESTARTS = 3
#: Where halving an unbounded start begins: no Salesforce record is older.
EARLIEST = datetime(1999, 1, 1, tzinfo=UTC)
#: The narrowest window a QUERY_TIMEOUT may shrink a range to before the run fails.
MIN_WINDOW = timedelta(seconds=1)

R = TypeVar("R", bound=Row)
C_co = TypeVar("C_co", covariant=True)


class RowPage(list[R]):
    """One page of a query as rows; `page` is the page as Salesforce served it (its records,
    its query's total and its Date header)."""

    def __init__(self, rows: Iterable[R], page: Page) -> None:
        super().__init__(rows)
        self.page = page

    @property
    def server_time(self) -> datetime | None:
        return self.page.server_time


class SourceRun(Protocol[C_co]):
    """What a run offers its source (implemented by `sync.runner`); `C_co` is the
    stream's cursor type."""

    #: The run's id and stream, for the log.
    label: str
    #: When the run started (an open-ended window never reaches past it).
    started: datetime

    def feed(self, pages: Callable[[], Iterator[Any]]) -> None:
        """Prepare and apply each page `pages()` yields, committing each."""

    def reached(self) -> C_co | None:
        """The newest position this run committed itself (None until its first page)."""

    def shrunk(self, width: timedelta) -> None:
        """Note that a QUERY_TIMEOUT narrowed the window to `width`."""


class SoqlSource(Generic[R]):
    """A stream's rows from one SOQL query over a SystemModstamp range (module docstring)."""

    def __init__(
        self,
        client: SalesforceClient,
        query: Callable[[datetime | None, datetime | None], str],
        row: Callable[[Mapping[str, Any]], R],
        *,
        lookback: timedelta,
        begin: datetime | None = None,
        include_deleted: bool = False,
    ) -> None:
        #: The query for records changed at or after `start` (None: all) and before `until`
        #: (None: no upper bound).
        self.client, self.query, self.row = client, query, row
        #: How far behind the cursor a run (or a restarted query) begins.
        self.lookback = lookback
        #: Where a stream that has read nothing yet begins (None: from the beginning).
        self.begin = begin
        #: Read through queryAll: rows deleted (or merged away) in Salesforce come too.
        self.include_deleted = include_deleted
        #: The cursor's cap: Salesforce's clock when it served the run's first page.
        self.cap: datetime | None = None
        self.started: datetime | None = None

    def start(self, cursor: datetime | None, full: bool, since: datetime | None) -> datetime | None:
        """Where a run reads from: `since`, everything (`full`), the lookback before the
        cursor, or `begin` for a stream that has read nothing yet."""
        if since is not None:
            return since
        if full:
            return None
        if cursor is not None:
            return cursor - self.lookback
        return self.begin

    def position(self, rows: RowPage[R]) -> datetime | None:
        """The newest SystemModstamp of a committed page, capped at the run's start on
        Salesforce's clock (the worker's start only when a response carried no Date)."""
        if self.cap is None:
            self.cap = rows.server_time or self.started
        stamps = [row.modstamp for row in rows if row.modstamp is not None]
        if not stamps:
            return None
        cap = self.cap
        return min(max(stamps), cap) if cap is not None else max(stamps)

    def backlog(self, rows: RowPage[R], before: datetime | None) -> datetime | None:
        """The oldest change of the page not applied before this run: rows at or before the
        starting cursor are the lookback's re-reads (None: a page of re-reads)."""
        stamps = [
            row.modstamp
            for row in rows
            if row.modstamp is not None and (before is None or row.modstamp > before)
        ]
        return min(stamps) if stamps else None

    def read(self, start: datetime | None, run: SourceRun[datetime]) -> None:
        """The range from `start` in one query, or in time windows once it timed out."""
        self.started, self.cap = run.started, None
        width: timedelta | None = None
        low = start
        while True:
            until = None if width is None or low is None else low + width
            if until is not None and until >= run.started:
                until = None
            try:
                self._window(low, until, run)
            except SalesforceQueryTimeout:
                floor = low if low is not None else EARLIEST
                wide = (until if until is not None else run.started) - floor
                if wide <= MIN_WINDOW:
                    raise
                width, low = max(wide / 2, MIN_WINDOW), floor
                run.shrunk(width)
                log.info("%s: QUERY_TIMEOUT, window halved to %s", run.label, width)
                continue
            if until is None:
                return
            low = until

    def _window(
        self, start: datetime | None, until: datetime | None, run: SourceRun[datetime]
    ) -> None:
        origin = start
        for attempt in range(MAX_LOCATOR_RESTARTS + 1):
            try:
                run.feed(self._pages(start, until))
                return
            except SalesforceQueryLocatorExpired:
                # The query cursor expired between pages: restart from what this run committed.
                if attempt == MAX_LOCATOR_RESTARTS:
                    raise
                start = self._restart_position(origin, run)

    def _restart_position(
        self, origin: datetime | None, run: SourceRun[datetime]
    ) -> datetime | None:
        """The lookback before what this run committed, never before where it began. Not the
        stored cursor: a --full or --since run starts behind it, and restarting there would
        skip every record in between."""
        reached = run.reached()
        if reached is None:
            return origin
        back = reached - self.lookback
        return back if origin is None else max(origin, back)

    def _pages(
        self, start: datetime | None, until: datetime | None
    ) -> Callable[[], Iterator[RowPage[R]]]:
        """The query's pages as rows (run in the runner's look-ahead thread)."""

        def pages() -> Iterator[RowPage[R]]:
            soql = self.query(start, until)
            for page in self.client.query_pages(soql, include_deleted=self.include_deleted):
                yield RowPage((self.row(r) for r in page), page)

        return pages
