"""Stream cursors and their leases: one poll at a time per stream, on SQLite and PostgreSQL.

A lease is taken with one conditional UPDATE (free, expired, or already ours), so two
workers racing for it cannot both succeed; the cursor only moves under a held lease.

A cursor is stored as text and typed by its stream through a `CursorCodec`: an instant
(`INSTANT`, a source's version timestamp) today, an opaque replay id tomorrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sfsync.models.dialect import insert
from sfsync.models.errors import LeaseLost
from sfsync.models.tables import SyncCursor
from sfsync.models.types import Stream, utcnow

__all__ = [
    "INSTANT",
    "CursorCodec",
    "InstantCursor",
    "acquire_lease",
    "advance",
    "list_cursors",
    "position",
    "release_lease",
    "renew_lease",
]

C = TypeVar("C")


class CursorCodec(Protocol[C]):
    """How a stream's cursor is stored (text) and ordered."""

    def dump(self, value: C) -> str: ...

    def load(self, text: str) -> C: ...

    def newest(self, a: C, b: C) -> C: ...


@dataclass(frozen=True)
class InstantCursor:
    """A cursor that is an instant (a source's version timestamp), as ISO 8601 UTC text."""

    def dump(self, value: datetime) -> str:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC).isoformat()

    def load(self, text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    def newest(self, a: datetime, b: datetime) -> datetime:
        return max(a, b)


INSTANT = InstantCursor()


def _ensure_row(session: Session, stream: Stream) -> None:
    session.execute(
        insert(session, SyncCursor)
        .values(stream=stream, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["stream"])
    )


def acquire_lease(
    session: Session, stream: Stream, owner: str, ttl: float, *, now: datetime | None = None
) -> bool:
    """Take the stream's lease if it is free, expired or already ours."""
    now = now or utcnow()
    _ensure_row(session, stream)
    result = session.execute(
        update(SyncCursor)
        .where(
            SyncCursor.stream == stream,
            or_(
                SyncCursor.lease_owner.is_(None),
                SyncCursor.lease_expires_at < now,
                SyncCursor.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew_lease(session: Session, stream: Stream, owner: str, ttl: float) -> None:
    """Extend our lease; raise `LeaseLost` if it is no longer ours."""
    result = session.execute(
        update(SyncCursor)
        .where(SyncCursor.stream == stream, SyncCursor.lease_owner == owner)
        .values(lease_expires_at=utcnow() + timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"the {stream} lease was taken over; this run stops")


def release_lease(session: Session, stream: Stream, owner: str) -> None:
    session.execute(
        update(SyncCursor)
        .where(SyncCursor.stream == stream, SyncCursor.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def position(
    session: Session,
    stream: Stream,
    codec: CursorCodec[C] = INSTANT,  # type: ignore[assignment]
) -> C | None:
    """The stream's cursor, read as `codec` says (None: the stream has read nothing yet)."""
    text = session.scalar(select(SyncCursor.position).where(SyncCursor.stream == stream))
    return codec.load(text) if text is not None else None


def advance(
    session: Session,
    stream: Stream,
    owner: str,
    to: C,
    ttl: float,
    codec: CursorCodec[C] = INSTANT,  # type: ignore[assignment]
) -> None:
    """Move the cursor forward (never back) and renew the lease, under our lease only."""
    current = position(session, stream, codec)
    target = to if current is None else codec.newest(current, to)
    result = session.execute(
        update(SyncCursor)
        .where(SyncCursor.stream == stream, SyncCursor.lease_owner == owner)
        .values(position=codec.dump(target), lease_expires_at=utcnow() + timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"the {stream} lease was taken over; this page is not committed")


def list_cursors(session: Session) -> list[SyncCursor]:
    return list(session.scalars(select(SyncCursor).order_by(SyncCursor.stream)))
