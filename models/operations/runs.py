"""Sync run history: what each run did, for `sfsync runs` and `sync status`.

How far behind its source a stream is, in two figures named for what they are (not "now
minus the cursor": the cursor is the newest change's source version, which stands still on a
quiet source however often it is read):

- **freshness**: time since the start of the stream's last successful run. Such a run read
  every change up to its start, so the store holds everything older than that.
- **backlog**: time since the oldest change at the source a running run has read and not yet
  applied (`SyncRun.backlog_since`, noted as each page is read). Known only during a run; none
  between runs, when the store is as fresh as its freshness says.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models.errors import NotFound
from sfsync.models.tables import SyncCursor, SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream, utcnow

__all__ = [
    "RunCounters",
    "StreamTiming",
    "finish_run",
    "get_run",
    "last_run",
    "list_runs",
    "note_backlog",
    "record_ended",
    "record_skipped",
    "save_progress",
    "start_run",
    "stream_timing",
]


@dataclass
class RunCounters:
    """Counters a run accumulates page by page."""

    records_seen: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    contracts_created: int = 0
    contracts_updated: int = 0
    contracts_unchanged: int = 0
    #: Contracts whose deal left Closed Won or was deleted: ended (started) or archived (not).
    contracts_ended: int = 0
    contracts_archived: int = 0
    #: Reconciliation's drift: won deals the store lacked, contracts whose deal no longer
    #: counts, contracts whose deal changed without the stream applying it.
    drift_missing: int = 0
    drift_extra: int = 0
    drift_changed: int = 0
    #: Times a QUERY_TIMEOUT halved the run's time window, and the narrowest width reached
    #: in seconds (0: the range went in one query).
    window_shrinks: int = 0
    window_seconds: int = 0
    aliases_added: int = 0
    dead_lettered: int = 0
    api_calls: int = 0

    def add(self, other: RunCounters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def start_run(
    session: Session, stream: Stream, trigger: RunTrigger, cursor_before: str | None
) -> SyncRun:
    run = SyncRun(
        stream=stream, trigger=trigger, status=RunStatus.RUNNING, cursor_before=cursor_before
    )
    session.add(run)
    session.flush()
    return run


def save_progress(session: Session, run_id: int, counters: RunCounters, cursor: str | None) -> None:
    run = get_run(session, run_id)
    for f in fields(counters):
        setattr(run, f.name, getattr(counters, f.name))
    run.cursor_after = cursor
    session.flush()


def finish_run(
    session: Session,
    run_id: int,
    status: RunStatus,
    counters: RunCounters,
    cursor: str | None,
    error: str | None = None,
    api_usage: tuple[int, int] | None = None,
) -> SyncRun:
    save_progress(session, run_id, counters, cursor)
    run = get_run(session, run_id)
    if api_usage is not None:
        run.api_usage_used, run.api_usage_max = api_usage
    run.status = status
    run.error = error
    run.finished_at = utcnow()
    run.backlog_since = None
    session.flush()
    return run


def note_backlog(session: Session, run_id: int, since: datetime) -> None:
    """A running run read a change not yet applied, last modified at `since` (the oldest of
    its page); committed before the page is applied, so readers see it meanwhile."""
    get_run(session, run_id).backlog_since = since
    session.flush()


@dataclass(frozen=True)
class StreamTiming:
    """How far behind its source a stream is (see the module docstring)."""

    #: When the last successful run started: every change before it is in the store.
    fresh_as_of: datetime | None
    freshness_seconds: float | None
    #: Last modified time of the oldest change a running run has read and not yet applied.
    backlog_since: datetime | None
    backlog_seconds: float | None


def stream_timing(session: Session, stream: Stream, now: datetime) -> StreamTiming:
    """The stream's freshness and, while a run holds its lease, its backlog, at `now`."""
    fresh_as_of = session.scalar(
        select(SyncRun.started_at)
        .where(SyncRun.stream == stream, SyncRun.status == RunStatus.SUCCEEDED)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    # A run that died without finishing (its worker killed) holds no live lease.
    backlog_since = session.scalar(
        select(SyncRun.backlog_since)
        .join(SyncCursor, SyncCursor.stream == SyncRun.stream)
        .where(
            SyncRun.stream == stream,
            SyncRun.status == RunStatus.RUNNING,
            SyncRun.backlog_since.is_not(None),
            SyncCursor.lease_expires_at > now,
        )
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    return StreamTiming(
        fresh_as_of=fresh_as_of,
        freshness_seconds=_since(fresh_as_of, now),
        backlog_since=backlog_since,
        backlog_seconds=_since(backlog_since, now),
    )


def _since(at: datetime | None, now: datetime) -> float | None:
    return max(0.0, (now - at).total_seconds()) if at is not None else None


def record_skipped(session: Session, stream: Stream, trigger: RunTrigger, reason: str) -> SyncRun:
    return record_ended(session, stream, trigger, RunStatus.SKIPPED, reason)


def record_ended(
    session: Session, stream: Stream, trigger: RunTrigger, status: RunStatus, reason: str
) -> SyncRun:
    """A run that ended as it began (skipped, or failed before its first call), with why."""
    now = utcnow()
    run = SyncRun(
        stream=stream,
        trigger=trigger,
        status=status,
        started_at=now,
        finished_at=now,
        error=reason,
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> SyncRun:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound(f"no sync run {run_id}")
    return run


def list_runs(session: Session, *, stream: Stream | None = None, limit: int = 50) -> list[SyncRun]:
    query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)
    if stream is not None:
        query = query.where(SyncRun.stream == stream)
    return list(session.scalars(query))


def last_run(session: Session, stream: Stream, *, exclude_skipped: bool = True) -> SyncRun | None:
    query = select(SyncRun).where(SyncRun.stream == stream).order_by(SyncRun.id.desc()).limit(1)
    if exclude_skipped:
        query = query.where(SyncRun.status != RunStatus.SKIPPED)
    return session.scalars(query).first()
