"""What a stream is: the class every stream subclasses, and the registry reads.

A stream class says what it is (its `name`, the `task` that runs it, how often beat asks,
which dead letters it replays); an instance is one run's state over a store, a client and
the settings. `IncrementalStream` adds what the runner needs: a source of rows (the port),
`prepare` (Salesforce look-ups before a page's transaction) and `apply` (inside it), and
the type of its cursor (`C`, with the `CursorCodec` that stores it): the runner keeps it
opaque, the source positions it.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar, Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Store
from sfsync.models.contracts.revisions import Change
from sfsync.models.operations.cursors import CursorCodec
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, RunTrigger, Stream
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RecordSource, RunOptions, StreamSpec, run_stream
from sfsync.sync.salesforce import Row, RowPage, SalesforceClient, SoqlSource
from sfsync.sync.streams.lease import leased_run

__all__ = ["Cadence", "IncrementalStream", "Letter", "SyncStream"]

R = TypeVar("R", bound=Row)
P = TypeVar("P")
C = TypeVar("C")


class Cadence(enum.StrEnum):
    """How often beat runs a stream, and whether `sync run` runs it."""

    #: Every SFSYNC_POLL_INTERVAL; one of `sync run --stream`'s choices.
    POLL = "poll"
    #: Every SFSYNC_RECONCILE_INTERVAL; a command of its own.
    DAILY = "daily"

    def seconds(self, settings: Settings) -> float:
        return float(
            settings.poll_interval if self is Cadence.POLL else settings.reconcile_interval
        )


@dataclass(frozen=True)
class Letter:
    """An open dead letter a stream is asked to replay."""

    id: int
    reference: str
    payload: Any


class SyncStream(ABC):
    """One stream: class attributes say what it is, an instance is one run's state."""

    #: Its name: its cursor's and lease's key (a `models.types.Stream` value).
    name: ClassVar[str]
    #: The name, in `tasks.names`, of the constant naming the task that runs it.
    task: ClassVar[str]
    cadence: ClassVar[Cadence] = Cadence.POLL
    #: The dead letters it writes and replays (None: none).
    letters: ClassVar[DeadLetterSource | None] = None
    #: Whether its replay takes an operator's `--accept-change`.
    accepts_change: ClassVar[bool] = False

    def __init__(self, store: Store, client: SalesforceClient, settings: Settings) -> None:
        self.store, self.client, self.settings = store, client, settings

    @abstractmethod
    def run(self, **options: Unpack[RunOptions]) -> RunResult:
        """One run (under the stream's lease)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The replay only reaches streams that declare `letters` (`Registry.replaying`):
        # such a stream must say how they replay, checked when the class is defined.
        if cls.letters is not None and cls.replay is SyncStream.replay:
            raise TypeError(
                f"stream {cls.__name__} writes {cls.letters.value} dead letters "
                "but does not define replay()"
            )

    def replay(self, letter: Letter, *, accept_change: bool = False) -> RunCounters:
        """Apply the stream again to the record `letter` is about; its counters say whether
        it was dead-lettered again (the letter then holds the new error). Only a stream with
        `letters` is asked, and such a stream defines it (`__init_subclass__`)."""
        raise TypeError(f"the {self.name} stream writes no dead letters to replay")

    def after_run(self) -> dict[str, Any]:
        """Work done after a run that did not fail, added to the task's summary."""
        return {}

    @classmethod
    def beat_entry(cls) -> str:
        """Its key in beat's schedule: its task's short name (``poll-opportunities``)."""
        return cls.task.lower().replace("_", "-")


class IncrementalStream(SyncStream, Generic[R, P, C]):
    """A stream read page by page from a cursor of type `C`, through `sync.runner`."""

    #: How its cursor is stored and ordered (a class attribute of each stream).
    cursor: CursorCodec[C]
    #: Why it changes a contract outside a run (a replayed letter).
    cause: ClassVar[Change] = Change("sync")

    def __init__(self, store: Store, client: SalesforceClient, settings: Settings) -> None:
        super().__init__(store, client, settings)
        #: The cause of the revisions this run makes (named after the run once it exists).
        self.change = self.cause

    @abstractmethod
    def source(self) -> RecordSource[R, C]:
        """Where this run's rows come from."""

    @abstractmethod
    def prepare(self, rows: RowPage[R]) -> P:
        """Salesforce and store look-ups for a page, before its transaction (look-ahead)."""

    @abstractmethod
    def apply(self, session: Session, rows: RowPage[R], page: P, counters: RunCounters) -> None:
        """Provision or dead-letter each row of the page, inside its transaction."""

    def soql_source(
        self,
        query: Callable[[datetime | None, datetime | None], str],
        row: Callable[[Mapping[str, Any]], R],
    ) -> SoqlSource[R]:
        """A SOQL source over every change (deleted rows too) since the cursor, less the
        configured lookback, or since `SFSYNC_SYNC_START` on a first run."""
        return SoqlSource(
            self.client,
            query,
            row,
            lookback=timedelta(seconds=self.settings.sync_lookback_seconds),
            begin=self.settings.sync_start,
            include_deleted=True,
        )

    def preflight(self) -> None:
        """Salesforce checks before the first query; a failure is the run's error."""

    def started(self, run_id: int) -> None:
        self.change = Change(f"sync run {run_id}", run_id=run_id)

    def run(self, **options: Unpack[RunOptions]) -> RunResult:
        stream = Stream(self.name)
        spec: StreamSpec[R, P, C] = StreamSpec(
            stream=stream,
            source=self.source(),
            prepare=self.prepare,
            apply=self.apply,
            cursor=self.cursor,
            preflight=self.preflight,
            on_start=self.started,
        )
        return leased_run(
            self.store,
            stream,
            self.settings.sync_lease_seconds,
            lambda owner: run_stream(
                spec,
                self.store,
                self.client,
                self.settings,
                owner,
                trigger=options.get("trigger", RunTrigger.BEAT),
                full=options.get("full", False),
                since=options.get("since"),
                progress=options.get("progress"),
            ),
            trigger=options.get("trigger", RunTrigger.BEAT),
            owner=options.get("owner"),
        )
