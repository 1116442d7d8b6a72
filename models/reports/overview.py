"""What the store says about the system right now: the console's overview and `/metrics`.

Everything is read from the store in one short transaction, so every process and host that
serves it (any number of `sfsync serve` workers) answers the same; nothing is kept in memory
between reads. Totals are sums over the store's rows, so they only grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfsync.models.aliases.attribution import is_pending
from sfsync.models.histogram import Histogram
from sfsync.models.operations.cursors import INSTANT, list_cursors
from sfsync.models.operations.runs import StreamTiming, last_run, stream_timing
from sfsync.models.tables import DeadLetter, SyncRun, UsageEvent
from sfsync.models.types import DeadLetterSource, DeadLetterStatus, RunStatus, RunTrigger, Stream
from sfsync.models.usage.tally import duplicates_total

__all__ = [
    "CHANGE_COUNTERS",
    "RUN_DURATION_BUCKETS",
    "ApiUsage",
    "IngestTotals",
    "LastRun",
    "Overview",
    "PendingUsage",
    "RecordTotals",
    "StreamState",
    "open_letters_by_source",
    "read_overview",
]

#: Upper bounds (seconds) of the run-duration histogram's buckets.
RUN_DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


#: What a run's counters say it changed in the store, by (object, change): only what was
#: created or changed, so a run that changed nothing adds 0 to every one.
CHANGE_COUNTERS: dict[tuple[str, str], str] = {
    ("customer", "created"): "customers_created",
    ("customer", "updated"): "customers_updated",
    ("contract", "created"): "contracts_created",
    ("contract", "updated"): "contracts_updated",
    ("contract", "ended"): "contracts_ended",
    ("contract", "archived"): "contracts_archived",
    ("alias", "added"): "aliases_added",
}


@dataclass(frozen=True)
class RecordTotals:
    """Totals of every finished run of a stream: records read and dead-lettered, and the
    changes made, by (object, change) as `CHANGE_COUNTERS` names them."""

    read: int
    dead_lettered: int
    changes: dict[tuple[str, str], int]


@dataclass(frozen=True)
class LastRun:
    """A stream's last run (skipped ones aside), detached from the session."""

    id: int
    status: RunStatus
    trigger: RunTrigger
    started_at: datetime
    finished_at: datetime | None
    records_seen: int
    dead_lettered: int
    api_calls: int
    error: str | None
    #: What a reconciliation found: (missing, extra, changed); None for the other streams.
    drift: tuple[int, int, int] | None = None

    @classmethod
    def of(cls, run: SyncRun) -> LastRun:
        return cls(
            id=run.id,
            status=run.status,
            trigger=run.trigger,
            started_at=run.started_at,
            finished_at=run.finished_at,
            records_seen=run.records_seen,
            dead_lettered=run.dead_lettered,
            api_calls=run.api_calls,
            error=run.error,
            drift=(run.drift_missing, run.drift_extra, run.drift_changed)
            if run.stream is Stream.RECONCILE
            else None,
        )


@dataclass(frozen=True)
class StreamState:
    stream: Stream
    #: The newest change applied (its source version): not a measure of delay by itself.
    cursor: datetime | None
    #: Freshness and backlog (`models.operations.runs`).
    timing: StreamTiming
    last_run: LastRun | None
    records: RecordTotals
    #: Durations of the stream's finished runs.
    durations: Histogram


@dataclass(frozen=True)
class PendingUsage:
    events: int
    keys: int
    oldest_age_seconds: float | None


@dataclass(frozen=True)
class IngestTotals:
    """Events stored (each transaction id once), sent again, and rejected into dead letters."""

    accepted: int
    duplicate: int
    rejected: int


@dataclass(frozen=True)
class ApiUsage:
    used: int
    max: int
    at: datetime | None

    @property
    def ratio(self) -> float:
        return self.used / self.max if self.max else 0.0


@dataclass(frozen=True)
class Overview:
    at: datetime
    streams: tuple[StreamState, ...]
    open_letters: dict[DeadLetterSource, int]
    pending: PendingUsage
    ingest: IngestTotals
    api_usage: ApiUsage | None


def read_overview(session: Session, now: datetime) -> Overview:
    """The system's state at `now`, from the store alone."""
    cursors = {c.stream: c for c in list_cursors(session)}
    streams = []
    for stream in Stream:
        cursor = cursors.get(stream)
        # Every stream's cursor is an instant so far (a replay id's stream would say so).
        position = INSTANT.load(cursor.position) if cursor and cursor.position else None
        last = last_run(session, stream)
        streams.append(
            StreamState(
                stream=stream,
                cursor=position,
                timing=stream_timing(session, stream, now),
                last_run=LastRun.of(last) if last is not None else None,
                records=_record_totals(session, stream),
                durations=_durations(session, stream),
            )
        )
    return Overview(
        at=now,
        streams=tuple(streams),
        open_letters=open_letters_by_source(session),
        pending=_pending(session, now),
        ingest=_ingest(session),
        api_usage=_api_usage(session),
    )


def open_letters_by_source(session: Session) -> dict[DeadLetterSource, int]:
    """Open dead letters per source, every source listed (zero when none)."""
    counts = dict.fromkeys(DeadLetterSource, 0)
    rows = session.execute(
        select(DeadLetter.source, func.count())
        .where(DeadLetter.status == DeadLetterStatus.OPEN)
        .group_by(DeadLetter.source)
    )
    for source, n in rows:
        counts[DeadLetterSource(source)] = int(n)
    return counts


_FINISHED = SyncRun.status.in_([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.THROTTLED])


def _record_totals(session: Session, stream: Stream) -> RecordTotals:
    columns = [
        getattr(SyncRun, name)
        for name in ("records_seen", "dead_lettered", *CHANGE_COUNTERS.values())
    ]
    read, lettered, *changed = session.execute(
        select(*(func.coalesce(func.sum(c), 0) for c in columns)).where(
            SyncRun.stream == stream, _FINISHED
        )
    ).one()
    return RecordTotals(
        read=int(read),
        dead_lettered=int(lettered),
        changes={key: int(n) for key, n in zip(CHANGE_COUNTERS, changed, strict=True)},
    )


def _durations(session: Session, stream: Stream) -> Histogram:
    rows = session.execute(
        select(SyncRun.started_at, SyncRun.finished_at).where(
            SyncRun.stream == stream, _FINISHED, SyncRun.finished_at.is_not(None)
        )
    )
    seconds = [max(0.0, (end - start).total_seconds()) for start, end in rows]
    return Histogram.of(RUN_DURATION_BUCKETS, seconds)


def _pending(session: Session, now: datetime) -> PendingUsage:
    events, keys, oldest = session.execute(
        select(
            func.count(),
            func.count(func.distinct(UsageEvent.customer_key)),
            func.min(UsageEvent.received_at),
        ).where(is_pending(session))
    ).one()
    if isinstance(oldest, str):  # SQLite hands an aggregate's datetime back as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
    return PendingUsage(events=int(events), keys=int(keys), oldest_age_seconds=age)


def _ingest(session: Session) -> IngestTotals:
    accepted = session.scalar(select(func.count()).select_from(UsageEvent)) or 0
    rejected = (
        session.scalar(
            select(func.coalesce(func.sum(DeadLetter.attempts), 0)).where(
                DeadLetter.source == DeadLetterSource.USAGE_EVENT
            )
        )
        or 0
    )
    return IngestTotals(
        accepted=int(accepted), duplicate=duplicates_total(session), rejected=int(rejected)
    )


def _api_usage(session: Session) -> ApiUsage | None:
    run = session.scalars(
        select(SyncRun)
        .where(SyncRun.api_usage_max.is_not(None), SyncRun.api_usage_max > 0)
        .order_by(SyncRun.id.desc())
        .limit(1)
    ).first()
    if run is None or run.api_usage_used is None or run.api_usage_max is None:
        return None
    return ApiUsage(used=run.api_usage_used, max=run.api_usage_max, at=run.finished_at)
