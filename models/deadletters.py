"""Dead letters: whatever could not be processed, with everything needed to replay it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models.errors import InvalidInput, NotFound
from models.tables import DeadLetter
from models.types import DeadLetterSource, DeadLetterStatus, utcnow


@dataclass(frozen=True)
class Failure:
    """What went wrong, ready to store (messages must already be free of secrets)."""

    source: DeadLetterSource
    error_class: str
    error_message: str
    reference: str | None = None
    payload: Any = None
    traceback: str | None = None
    task_name: str | None = None
    task_id: str | None = None
    task_args: Any = None
    attempts: int = 1


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a letter must still be written for such input,
    # with the byte visible as an escape rather than lost.
    return value.replace("\x00", "\\u0000") if value is not None else None


def _clean(failure: Failure) -> Failure:
    return replace(
        failure,
        error_class=_text(failure.error_class) or "",
        error_message=_text(failure.error_message) or "",
        reference=_text(failure.reference),
        traceback=_text(failure.traceback),
    )


def record(session: Session, failure: Failure) -> DeadLetter:
    """Store a failure. An open letter for the same source and reference is updated instead
    (attempts + 1, the new error), so a record that fails on every poll is one letter."""
    failure = _clean(failure)
    existing = None
    if failure.reference is not None:
        existing = session.scalars(
            select(DeadLetter)
            .where(
                DeadLetter.source == failure.source,
                DeadLetter.reference == failure.reference,
                DeadLetter.status == DeadLetterStatus.OPEN,
            )
            .limit(1)
        ).first()
    now = utcnow()
    if existing is not None:
        existing.attempts += failure.attempts
        existing.error_class = failure.error_class
        existing.error_message = failure.error_message
        existing.traceback = failure.traceback
        existing.last_failed_at = now
        if failure.payload is not None:
            existing.payload = failure.payload
        if failure.task_id is not None:
            existing.task_id = failure.task_id
        session.flush()
        return existing
    letter = DeadLetter(
        source=failure.source,
        reference=failure.reference,
        task_name=failure.task_name,
        task_id=failure.task_id,
        task_args=failure.task_args,
        payload=failure.payload,
        error_class=failure.error_class,
        error_message=failure.error_message,
        traceback=failure.traceback,
        attempts=failure.attempts,
        first_failed_at=now,
        last_failed_at=now,
    )
    session.add(letter)
    session.flush()
    return letter


def record_many(session: Session, failures: Sequence[Failure]) -> int:
    """Store many failures without per-row look-ups (for rejected usage events)."""
    if not failures:
        return 0
    failures = [_clean(f) for f in failures]
    now = utcnow()
    session.execute(
        insert(DeadLetter),
        [
            {
                "source": f.source,
                "reference": f.reference,
                "status": DeadLetterStatus.OPEN,
                "task_name": f.task_name,
                "task_id": f.task_id,
                "task_args": f.task_args,
                "payload": f.payload,
                "error_class": f.error_class,
                "error_message": f.error_message,
                "traceback": f.traceback,
                "attempts": f.attempts,
                "first_failed_at": now,
                "last_failed_at": now,
            }
            for f in failures
        ],
    )
    return len(failures)


def get(session: Session, letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound(f"no dead letter {letter_id}")
    return letter


def list_letters(
    session: Session,
    *,
    status: DeadLetterStatus | None = DeadLetterStatus.OPEN,
    source: DeadLetterSource | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[DeadLetter]:
    query = select(DeadLetter).order_by(DeadLetter.id)
    if status is not None:
        query = query.where(DeadLetter.status == status)
    if source is not None:
        query = query.where(DeadLetter.source == source)
    if since is not None:
        query = query.where(DeadLetter.last_failed_at >= since)
    return list(session.scalars(query.limit(limit)))


def mark_replayed(session: Session, letter: DeadLetter) -> None:
    letter.status = DeadLetterStatus.REPLAYED
    letter.resolved_at = utcnow()
    session.flush()


def mark_failed_again(session: Session, letter: DeadLetter, error_class: str, message: str) -> None:
    """A replay failed: count it and add it to the letter's history (the original error,
    which says why the record first failed, stays the letter's error)."""
    now = utcnow()
    letter.attempts += 1
    entry = {"at": now.isoformat(), "error_class": error_class, "error_message": message}
    letter.error_history = [*(letter.error_history or []), entry]
    letter.last_failed_at = now
    session.flush()


def discard(session: Session, letter: DeadLetter, reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("a discard needs a reason")
    if letter.status is not DeadLetterStatus.OPEN:
        raise InvalidInput(f"dead letter {letter.id} is {letter.status.value}, not open")
    letter.status = DeadLetterStatus.DISCARDED
    letter.discard_reason = reason
    letter.resolved_at = utcnow()
    session.flush()


def resolve_open_for(session: Session, source: DeadLetterSource, reference: str) -> int:
    """Mark open letters for a record as replayed once it was processed some other way."""
    result = session.execute(
        update(DeadLetter)
        .where(
            DeadLetter.source == source,
            DeadLetter.reference == reference,
            DeadLetter.status == DeadLetterStatus.OPEN,
        )
        .values(status=DeadLetterStatus.REPLAYED, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def stats(session: Session) -> list[tuple[DeadLetterSource, str, int]]:
    """Open letters per source and error class."""
    rows = session.execute(
        select(DeadLetter.source, DeadLetter.error_class, func.count())
        .where(DeadLetter.status == DeadLetterStatus.OPEN)
        .group_by(DeadLetter.source, DeadLetter.error_class)
        .order_by(DeadLetter.source, DeadLetter.error_class)
    )
    return [(source, error_class, int(n)) for source, error_class, n in rows]
