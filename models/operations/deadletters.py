"""Dead letters: whatever could not be processed, with everything needed to replay it.

One open letter per (source, reference): a unique index over the open letters (migration
0003) and an upsert on it, so a record or event that fails again — on every poll, in every
re-ingest of the same file, from two workers at once — adds an attempt to its letter
instead of a new letter. Letters without a reference are never merged.

A letter of a failed task stores the call as `TaskCall` writes it, ``{"args": [...],
"kwargs": {...}}``; `TaskCall.of` reads that and the bare argument list that letters
written before it hold (the store may keep them for as long as they stay open).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.orm import Session

from sfsync.models.dialect import insert
from sfsync.models.errors import InvalidInput, NotFound
from sfsync.models.storable import storable_json, storable_text
from sfsync.models.tables import DeadLetter
from sfsync.models.types import DeadLetterSource, DeadLetterStatus, utcnow

__all__ = [
    "OPEN_LETTER",
    "Failure",
    "LetterError",
    "TaskCall",
    "add_letter",
    "add_letters",
    "discard",
    "get_letter",
    "keep_first_error",
    "list_letters",
    "mark_failed_again",
    "mark_replayed",
    "resolve_open_for",
    "stats",
]


@dataclass(frozen=True)
class TaskCall:
    """The arguments of a failed task call, in the one form a dead letter stores them."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        return {"args": list(self.args), "kwargs": dict(self.kwargs)}

    @classmethod
    def of(cls, stored: Any) -> TaskCall:
        """The call a letter's `task_args` hold: this form, or an older letter's bare list."""
        if isinstance(stored, Mapping):
            return cls(tuple(stored.get("args") or ()), dict(stored.get("kwargs") or {}))
        if isinstance(stored, list | tuple):
            return cls(tuple(stored))
        return cls()


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
    task_args: TaskCall | None = None
    attempts: int = 1


def _text(value: str | None) -> str | None:
    # A letter must be written for any input, NUL or lone surrogates included: each such
    # character is kept visible as an escape rather than lost (`models.storable`).
    return storable_text(value) if value is not None else None


def _clean(failure: Failure) -> Failure:
    return replace(
        failure,
        error_class=_text(failure.error_class) or "",
        error_message=_text(failure.error_message) or "",
        reference=None if failure.reference is None else storable_text(failure.reference)[:255],
        traceback=_text(failure.traceback),
        payload=storable_json(failure.payload),
    )


#: The predicate of the unique index `uq_dead_letters_open_reference` (ON CONFLICT names it):
#: a literal, not a parameter, as PostgreSQL infers a partial index only from a predicate it
#: can read when it plans the statement.
OPEN_LETTER = DeadLetter.status == literal_column(f"'{DeadLetterStatus.OPEN.value}'")


def _row(failure: Failure, now: datetime) -> dict[str, Any]:
    return {
        "source": failure.source,
        "reference": failure.reference,
        "status": DeadLetterStatus.OPEN,
        "task_name": failure.task_name,
        "task_id": failure.task_id,
        "task_args": (
            storable_json(failure.task_args.stored()) if failure.task_args is not None else None
        ),
        "payload": failure.payload,
        "error_class": failure.error_class,
        "error_message": failure.error_message,
        "traceback": failure.traceback,
        "attempts": failure.attempts,
        "first_failed_at": now,
        "last_failed_at": now,
    }


def _upsert(session: Session, rows: list[dict[str, Any]], *, keep_payload: bool) -> Any:
    """INSERT … ON CONFLICT (source, reference) WHERE open DO UPDATE: attempts add up, the
    newest error wins; `keep_payload` keeps the stored payload and task id when the new
    failure has none."""
    stmt = insert(session, DeadLetter).values(rows)
    new = stmt.excluded
    changes: dict[str, Any] = {
        "attempts": DeadLetter.attempts + new.attempts,
        "error_class": new.error_class,
        "error_message": new.error_message,
        "traceback": new.traceback,
        "last_failed_at": new.last_failed_at,
    }
    if not keep_payload:
        changes.update(payload=new.payload, task_id=new.task_id, task_args=new.task_args)
    return stmt.on_conflict_do_update(
        index_elements=[DeadLetter.source, DeadLetter.reference],
        index_where=OPEN_LETTER,
        set_=changes,
    )


def add_letter(session: Session, failure: Failure) -> DeadLetter:
    """Store a failure. An open letter for the same source and reference is updated instead
    (attempts added, the new error), so a record that fails on every poll is one letter."""
    failure = _clean(failure)
    row = _row(failure, utcnow())
    keep = failure.payload is None and failure.task_id is None
    stmt = _upsert(session, [row], keep_payload=keep).returning(DeadLetter.id)
    letter_id = session.execute(stmt).scalar_one()
    letter = session.get(DeadLetter, letter_id, populate_existing=True)
    assert letter is not None
    return letter


def add_letters(session: Session, failures: Sequence[Failure]) -> int:
    """Store many failures in one statement (for rejected usage events), merged as `add_letter`
    merges them: one open letter per (source, reference), attempts counted."""
    if not failures:
        return 0
    now = utcnow()
    merged: dict[tuple[Any, str], dict[str, Any]] = {}
    unreferenced: list[dict[str, Any]] = []
    for failure in (_clean(f) for f in failures):
        row = _row(failure, now)
        if failure.reference is None:
            unreferenced.append(row)
            continue
        key = (failure.source, failure.reference)
        earlier = merged.get(key)
        if earlier is not None:
            # One statement may not update a row twice: copies within the batch merge here.
            row["attempts"] += earlier["attempts"]
        merged[key] = row
    if merged:
        session.execute(_upsert(session, list(merged.values()), keep_payload=False))
    if unreferenced:
        session.execute(insert(session, DeadLetter).values(unreferenced))
    return len(failures)


def get_letter(session: Session, letter_id: int) -> DeadLetter:
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


def mark_replayed(session: Session, letter: DeadLetter, actor: str | None = None) -> None:
    letter.status = DeadLetterStatus.REPLAYED
    letter.resolved_at = utcnow()
    letter.actor = None if actor is None else storable_text(actor)
    session.flush()


@dataclass(frozen=True)
class LetterError:
    """A letter's error as it stood before a replay."""

    error_class: str
    error_message: str
    traceback: str | None

    @classmethod
    def of(cls, letter: DeadLetter) -> LetterError:
        return cls(letter.error_class, letter.error_message, letter.traceback)


def _add_history(
    letter: DeadLetter, at: datetime, error_class: str, message: str, actor: str | None
) -> None:
    entry = {
        "at": at.isoformat(),
        "error_class": storable_text(error_class),
        "error_message": storable_text(message),
        "actor": None if actor is None else storable_text(actor),
    }
    letter.error_history = [*(letter.error_history or []), entry]
    letter.actor = None if actor is None else storable_text(actor)


def mark_failed_again(
    session: Session,
    letter: DeadLetter,
    error_class: str,
    message: str,
    actor: str | None = None,
) -> None:
    """A replay failed: count it and add it to the letter's history (the original error,
    which says why the record first failed, stays the letter's error)."""
    now = utcnow()
    letter.attempts += 1
    _add_history(letter, now, error_class, message, actor)
    letter.last_failed_at = now
    session.flush()


def keep_first_error(
    session: Session, letter: DeadLetter, first: LetterError, actor: str | None = None
) -> None:
    """A replay failed through a path that letters its own failures (a sync's upsert counted
    the attempt and overwrote the error): that error moves to the history, the first is back."""
    _add_history(letter, letter.last_failed_at, letter.error_class, letter.error_message, actor)
    letter.error_class, letter.error_message = first.error_class, first.error_message
    letter.traceback = first.traceback
    session.flush()


def discard(session: Session, letter: DeadLetter, reason: str, actor: str | None = None) -> None:
    if not reason.strip():
        raise InvalidInput("a discard needs a reason")
    if letter.status is not DeadLetterStatus.OPEN:
        raise InvalidInput(f"dead letter {letter.id} is {letter.status.value}, not open")
    letter.status = DeadLetterStatus.DISCARDED
    letter.discard_reason = storable_text(reason)
    letter.resolved_at = utcnow()
    letter.actor = None if actor is None else storable_text(actor)
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
