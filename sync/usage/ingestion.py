"""Usage ingestion: validate events, store them durably, dead-letter the rest.

`ingest` is the one code path for every producer (in-process callers, the Celery task
`sfsync.usage.ingest`, the CLI, the HTTP API). Validation is `sync.usage.validation`;
reading files and bodies is `sync.usage.reader`. Every input is accounted for:
accepted + duplicate + rejected == number of inputs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import chain, islice
from operator import attrgetter
from typing import Any

from sqlalchemy.orm import Session

from sfsync.models.operations.deadletters import Failure, add_letters
from sfsync.models.storable import storable_text
from sfsync.models.types import DeadLetterSource, utcnow
from sfsync.models.usage.events import NewEvent, differences, stored_events
from sfsync.models.usage.insert import insert_events
from sfsync.models.usage.tally import record_tally
from sfsync.sync.usage.errors import InvalidUsageEvent
from sfsync.sync.usage.rules import Limits, UsageRules
from sfsync.sync.usage.validation import storable_payload, validate_event

__all__ = [
    "BATCH_SIZE",
    "MAX_EVENTS_PER_MESSAGE",
    "EventOutcome",
    "EventResult",
    "IngestReport",
    "ingest",
]

BATCH_SIZE = 1000
#: Most events one `sfsync.usage.ingest` message may carry (larger ones are split).
MAX_EVENTS_PER_MESSAGE = 1000
ERROR_CLASS = InvalidUsageEvent.__name__  # what a rejected event's dead letter names
_REFERENCE_MAX = 255


class EventOutcome(enum.StrEnum):
    """What became of one input event."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class EventResult:
    """What happened to one input: its position, its id (if it had a usable one) and why."""

    index: int
    transaction_id: str | None
    outcome: EventOutcome
    reason: str | None = None
    payload_differs: bool = False


@dataclass(frozen=True, slots=True)
class _Accepted:
    """The accepted events of one batch, kept as their positions and ids: an `EventResult`
    per accepted event is built only when a caller asks for `IngestReport.results` (the
    HTTP front door, the task and the CLI only look at the others)."""

    offset: int
    positions: Sequence[int]
    transaction_ids: Sequence[str]

    def results(self) -> Iterator[EventResult]:
        accepted = EventOutcome.ACCEPTED
        for position, tx in zip(self.positions, self.transaction_ids, strict=True):
            yield EventResult(self.offset + position, tx, accepted)


@dataclass(frozen=True)
class IngestReport:
    """Counts and per-event results of one `ingest` call."""

    accepted: int
    duplicate: int
    rejected: int
    _accepted: tuple[_Accepted, ...] = field(repr=False, compare=False)
    _others: tuple[EventResult, ...] = field(repr=False, compare=False)

    @cached_property
    def results(self) -> tuple[EventResult, ...]:
        """Every input's result, in input order."""
        accepted = chain.from_iterable(a.results() for a in self._accepted)
        return tuple(sorted(chain(accepted, self._others), key=attrgetter("index")))

    def results_with(self, outcome: EventOutcome) -> tuple[EventResult, ...]:
        """The results with this outcome, in input order (duplicates and rejections without
        building a result for every accepted event)."""
        if outcome is EventOutcome.ACCEPTED:
            return tuple(r for r in self.results if r.outcome is outcome)
        return tuple(r for r in self._others if r.outcome is outcome)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.rejected

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected}


def _reference(raw: Any) -> str | None:
    if isinstance(raw, dict):
        tx = raw.get("transaction_id")
        if isinstance(tx, str) and tx:
            # Escaped first: the reference is stored and answered, which a lone surrogate or
            # a NUL in it would fail (`models.storable`).
            return storable_text(tx)[:_REFERENCE_MAX]
    return None


def _batches(events: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


def ingest(
    session: Session,
    events: Iterable[Any],
    rules: UsageRules,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> IngestReport:
    """Validate and store events in the session's transaction; dead-letter the invalid ones.

    Accepted events are stored as sent (insert-or-ignore on `transaction_id`), attributed
    when their key is already known; the pending sweep attributes the rest. The caller's
    transaction commits them (`store.session()`), before the call's caller returns.
    The caller builds `rules` once (`UsageRules.of(settings)`); the time window is taken
    at `now`, the call's time unless given. `batch_size` events are validated and inserted
    at a time (memory is a batch's worth; a long stream in large transactions takes larger
    batches: fewer round trips).
    """
    limits = Limits.of(rules, now or utcnow())
    accepted: list[_Accepted] = []
    others: list[EventResult] = []  # duplicates and rejections, in input order
    offset = 0
    max_chars = rules.max_event_chars
    for batch in _batches(events, batch_size):
        # Copies within a batch are caught here; across batches the store's insert-or-ignore
        # catches them, so memory stays one batch's worth however long the stream.
        accepted.append(_ingest_batch(session, batch, offset, limits, max_chars, others))
        offset += len(batch)
    n_accepted = sum(len(a.positions) for a in accepted)
    n_rejected = sum(1 for r in others if r.outcome is EventOutcome.REJECTED)
    n_duplicate = len(others) - n_rejected
    record_tally(session, n_accepted, n_duplicate, n_rejected)
    return IngestReport(n_accepted, n_duplicate, n_rejected, tuple(accepted), tuple(others))


def _ingest_batch(
    session: Session,
    batch: Sequence[Any],
    offset: int,
    limits: Limits,
    max_chars: int,
    others: list[EventResult],
) -> _Accepted:
    """Store one batch; its duplicates and rejections go to `others`, in input order."""
    events: list[NewEvent] = []
    positions: list[int] = []
    failures: list[Failure] = []
    mine: list[EventResult] = []
    for i, raw in enumerate(batch):
        try:
            event = validate_event(raw, limits)
        except Exception as exc:  # one bad event must never strand its batch
            mine.append(_rejected(offset + i, raw, exc, max_chars, failures))
            continue
        events.append(event)
        positions.append(i)
    add_letters(session, failures)
    fresh, fresh_positions = _first_copies(events, positions, offset, mine)
    inserted = insert_events(session, fresh)
    if len(inserted) == len(fresh):  # the common batch: nothing was stored before
        txs = [e.transaction_id for e in fresh]
        _merge(others, mine)
        return _Accepted(offset, fresh_positions, txs)
    already = [e.transaction_id for e in fresh if e.transaction_id not in inserted]
    stored = stored_events(session, already)
    kept_positions: list[int] = []
    kept: list[str] = []
    for position, event in zip(fresh_positions, fresh, strict=True):
        tx = event.transaction_id
        if tx in inserted:
            kept_positions.append(position)
            kept.append(tx)
            continue
        previous = stored.get(tx)
        diffs = differences(previous, event) if previous is not None else []
        mine.append(_duplicate(offset + position, event, diffs))
    _merge(others, mine)
    return _Accepted(offset, kept_positions, kept)


def _rejected(
    index: int, raw: Any, exc: Exception, max_chars: int, failures: list[Failure]
) -> EventResult:
    reason = (
        str(exc)
        if isinstance(exc, InvalidUsageEvent)
        else f"the event could not be validated ({type(exc).__name__}: {exc})"[:600]
    )
    failures.append(
        Failure(
            source=DeadLetterSource.USAGE_EVENT,
            error_class=ERROR_CLASS,
            error_message=reason,
            reference=_reference(raw),
            payload=storable_payload(raw, max_chars),
        )
    )
    return EventResult(index, _reference(raw), EventOutcome.REJECTED, reason)


def _first_copies(
    events: list[NewEvent], positions: list[int], offset: int, mine: list[EventResult]
) -> tuple[list[NewEvent], list[int]]:
    """The first copy of each transaction id in the batch, with its position; later copies
    are reported as duplicates of it (into `mine`)."""
    ids = [e.transaction_id for e in events]
    # Built back to front, so each id keeps its first position (one C-level pass).
    first = dict(zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True))
    if len(first) == len(events):
        return events, positions
    fresh: list[NewEvent] = []
    fresh_positions: list[int] = []
    for k, event in enumerate(events):
        original = first[event.transaction_id]
        if original == k:
            fresh.append(event)
            fresh_positions.append(positions[k])
        else:
            diffs = differences(events[original], event)
            mine.append(_duplicate(offset + positions[k], event, diffs))
    return fresh, fresh_positions


def _merge(others: list[EventResult], mine: list[EventResult]) -> None:
    # A batch's results come after every earlier batch's, so sorting the batch's own keeps
    # the whole list in input order.
    mine.sort(key=attrgetter("index"))
    others.extend(mine)


def _duplicate(index: int, event: NewEvent, diffs: list[str]) -> EventResult:
    if diffs:
        reason = (
            f"transaction_id {event.transaction_id!r} was already received with a different "
            f"payload ({', '.join(diffs)} differ); the first copy is kept"
        )
    else:
        reason = f"transaction_id {event.transaction_id!r} was already received"
    return EventResult(index, event.transaction_id, EventOutcome.DUPLICATE, reason, bool(diffs))
