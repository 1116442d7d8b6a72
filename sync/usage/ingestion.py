"""Usage ingestion: validate events, store them durably, dead-letter the rest.

`ingest` is the one code path for every producer (in-process callers, the Celery task
`sfsync.usage.ingest`, the CLI, the HTTP API). Validation is `sync.usage.validation`;
reading files and bodies is `sync.usage.reader`. Every input is accounted for:
accepted + duplicate + rejected == number of inputs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from models.deadletters import Failure, add_letters
from models.ingest_tally import record_tally
from models.types import DeadLetterSource, utcnow
from models.usage import NewEvent, differences, stored_events
from models.usage_insert import insert_events
from sync.usage.errors import InvalidUsageEvent
from sync.usage.validation import (
    Limits,
    UsageRules,
    storable_payload,
    validate_event,
)

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


@dataclass(frozen=True)
class IngestReport:
    """Counts and per-event results of one `ingest` call."""

    accepted: int
    duplicate: int
    rejected: int
    results: tuple[EventResult, ...]

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.rejected

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected}


def _reference(raw: Any) -> str | None:
    if isinstance(raw, dict):
        tx = raw.get("transaction_id")
        if isinstance(tx, str) and tx:
            return tx[:_REFERENCE_MAX]
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
) -> IngestReport:
    """Validate and store events in the session's transaction; dead-letter the invalid ones.

    Accepted events are stored as sent (insert-or-ignore on `transaction_id`), attributed
    when their key is already known; the pending sweep attributes the rest. The caller's
    transaction commits them (`store.session()`), before the call's caller returns.
    The caller builds `rules` once (`UsageRules.of(settings)`); the time window is taken
    at `now`, the call's time unless given.
    """
    limits = Limits.of(rules, now or utcnow())
    results: list[EventResult] = []
    offset = 0
    max_chars = rules.max_event_chars
    for batch in _batches(events, BATCH_SIZE):
        # Copies within a batch are caught here; across batches the store's insert-or-ignore
        # catches them, so memory stays one batch's worth however long the stream.
        results.extend(_ingest_batch(session, batch, offset, limits, max_chars))
        offset += len(batch)
    counts = {o: 0 for o in EventOutcome}
    for r in results:
        counts[r.outcome] += 1
    record_tally(
        session,
        counts[EventOutcome.ACCEPTED],
        counts[EventOutcome.DUPLICATE],
        counts[EventOutcome.REJECTED],
    )
    return IngestReport(
        counts[EventOutcome.ACCEPTED],
        counts[EventOutcome.DUPLICATE],
        counts[EventOutcome.REJECTED],
        tuple(results),
    )


def _ingest_batch(
    session: Session,
    batch: Sequence[Any],
    offset: int,
    limits: Limits,
    max_chars: int,
) -> list[EventResult]:
    results: list[EventResult | None] = [None] * len(batch)
    seen: dict[str, NewEvent] = {}
    failures: list[Failure] = []
    fresh: dict[str, tuple[int, NewEvent]] = {}
    for i, raw in enumerate(batch):
        try:
            event = validate_event(raw, limits)
        except Exception as exc:  # one bad event must never strand its batch
            reason = (
                str(exc)
                if isinstance(exc, InvalidUsageEvent)
                else f"the event could not be validated ({type(exc).__name__}: {exc})"[:600]
            )
            results[i] = EventResult(offset + i, _reference(raw), EventOutcome.REJECTED, reason)
            failures.append(
                Failure(
                    source=DeadLetterSource.USAGE_EVENT,
                    error_class=ERROR_CLASS,
                    error_message=reason,
                    reference=_reference(raw),
                    payload=storable_payload(raw, max_chars),
                )
            )
            continue
        first = seen.get(event.transaction_id)
        if first is not None:
            results[i] = _duplicate(offset + i, event, differences(first, event))
            continue
        seen[event.transaction_id] = event
        fresh[event.transaction_id] = (i, event)
    add_letters(session, failures)
    inserted = insert_events(session, [e for _, e in fresh.values()])
    already = [tx for tx in fresh if tx not in inserted]
    stored = stored_events(session, already) if already else {}
    for tx, (i, event) in fresh.items():
        if tx in inserted:
            results[i] = EventResult(offset + i, tx, EventOutcome.ACCEPTED)
        else:
            previous = stored.get(tx)
            diffs = differences(previous, event) if previous is not None else []
            results[i] = _duplicate(offset + i, event, diffs)
    return [r for r in results if r is not None]


def _duplicate(index: int, event: NewEvent, diffs: list[str]) -> EventResult:
    if diffs:
        reason = (
            f"transaction_id {event.transaction_id!r} was already received with a different "
            f"payload ({', '.join(diffs)} differ); the first copy is kept"
        )
    else:
        reason = f"transaction_id {event.transaction_id!r} was already received"
    return EventResult(index, event.transaction_id, EventOutcome.DUPLICATE, reason, bool(diffs))
