"""Usage ingestion: validate events, store them durably, dead-letter the rest.

`ingest` is the one code path for every producer (in-process callers, the Celery task
`sfsync.usage.ingest`, the CLI). Validation is plain Python over values (a pydantic model
per event would cost more than the database insert). Every input is accounted for:
accepted + duplicate + rejected == number of inputs.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from config import Settings
from models.deadletters import Failure, record_many
from models.ingest_tally import record_tally
from models.tables import MAX_EVENT_KEY
from models.types import DeadLetterSource, utcnow
from models.usage import NewEvent, insert_events, stored_events

BATCH_SIZE = 1000
ERROR_CLASS = "InvalidUsageEvent"
FIELDS = ("transaction_id", "customer_id", "event_type", "timestamp", "properties")
_REQUIRED = FIELDS[:4]
_REFERENCE_MAX = 255

# RFC 3339 date-time: full date, 'T' (or space, which RFC 3339 allows), time with optional
# fraction, and a mandatory offset. fromisoformat alone would also take dates, week dates
# and offset-less times.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class EventResult:
    """What happened to one input: its position, its id (if it had a usable one) and why."""

    index: int
    transaction_id: str | None
    outcome: Outcome
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


@dataclass(frozen=True, slots=True)
class Unparsable:
    """An input that was not even JSON (e.g. a bad line of a JSON Lines file)."""

    text: str
    error: str


class InvalidUsageEvent(ValueError):
    """An event breaks a rule; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The validation window and sizes, fixed for one batch."""

    now: datetime
    oldest: datetime
    newest: datetime
    max_age_days: int
    max_future_hours: int
    max_properties_bytes: int

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> Limits:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        return cls(
            now,
            now - timedelta(days=settings.usage_max_age_days),
            now + timedelta(hours=settings.usage_max_future_hours),
            settings.usage_max_age_days,
            settings.usage_max_future_hours,
            settings.usage_max_properties_bytes,
        )


def _key(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str):
        kind = "missing" if value is None and name not in event else f"a {_kind(value)}"
        raise InvalidUsageEvent(
            f"{name} must be a string of 1 to {MAX_EVENT_KEY} characters, got {kind}"
        )
    if not 1 <= len(value) <= MAX_EVENT_KEY:
        raise InvalidUsageEvent(
            f"{name} must have 1 to {MAX_EVENT_KEY} characters, got {len(value)}"
        )
    if not value.isascii():
        _check_text(name, value)
    elif "\x00" in value:
        raise InvalidUsageEvent(f"{name} must not contain NUL characters")
    return value


def _check_text(name: str, value: str) -> None:
    # Lone surrogates cannot be stored as UTF-8 and NUL is refused by PostgreSQL text.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidUsageEvent(f"{name} is not valid Unicode text") from None
    if "\x00" in value:
        raise InvalidUsageEvent(f"{name} must not contain NUL characters")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def parse_timestamp(value: Any, limits: Limits) -> datetime:
    """An RFC 3339 timestamp with offset inside the accepted window, as aware UTC."""
    if not isinstance(value, str):
        raise InvalidUsageEvent(
            "timestamp must be an RFC 3339 string such as 2026-11-20T14:05:09Z, "
            f"got a {_kind(value)}"
        )
    shown = value[:64]
    if not _RFC3339.fullmatch(value):
        raise InvalidUsageEvent(
            f"timestamp {shown!r} is not an RFC 3339 date-time with an offset "
            f"(e.g. 2026-11-20T14:05:09Z or 2026-11-20T15:05:09+01:00)"
        )
    text = value.upper()
    # Python keeps microseconds: longer fractions are truncated, not rejected.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        parsed = datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise InvalidUsageEvent(f"timestamp {shown!r} is not a valid date-time: {exc}") from None
    if parsed < limits.oldest:
        age = (limits.now - parsed).days
        raise InvalidUsageEvent(
            f"timestamp {value} is {age} days old; events older than {limits.max_age_days} "
            f"days are rejected (SFSYNC_USAGE_MAX_AGE_DAYS)"
        )
    if parsed > limits.newest:
        ahead = (parsed - limits.now).total_seconds() / 3600
        raise InvalidUsageEvent(
            f"timestamp {value} is {ahead:.1f} hours in the future; events more than "
            f"{limits.max_future_hours} hours ahead are rejected (SFSYNC_USAGE_MAX_FUTURE_HOURS)"
        )
    return parsed


def encode_properties(value: Any, limits: Limits) -> tuple[dict[str, Any], str]:
    """The properties object and its compact JSON text, checked for type and size."""
    if value is None:
        return {}, "{}"
    if not isinstance(value, dict):
        raise InvalidUsageEvent(f"properties must be a JSON object, got a {_kind(value)}")
    if not value:
        return {}, "{}"
    if not all(isinstance(k, str) for k in value):
        raise InvalidUsageEvent("properties must be a JSON object (its keys must be strings)")
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        size = len(encoded.encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise InvalidUsageEvent(f"properties must be plain JSON: {exc}") from None
    if size > limits.max_properties_bytes:
        raise InvalidUsageEvent(
            f"properties are {size} bytes as JSON; the limit is {limits.max_properties_bytes} "
            f"bytes (SFSYNC_USAGE_MAX_PROPERTIES_BYTES)"
        )
    return value, encoded


def validate_event(raw: Any, limits: Limits) -> NewEvent:
    """Check one raw event; raise `InvalidUsageEvent` with an actionable reason."""
    if isinstance(raw, Unparsable):
        raise InvalidUsageEvent(f"not valid JSON: {raw.error}")
    if not isinstance(raw, dict):
        raise InvalidUsageEvent(f"an event must be a JSON object, got a {_kind(raw)}")
    if len(raw) > len(FIELDS) or not raw.keys() <= set(FIELDS):
        unknown = sorted(str(k) for k in raw if k not in FIELDS)
        raise InvalidUsageEvent(
            f"unknown field(s) {', '.join(unknown)}; an event has {', '.join(FIELDS)}"
        )
    missing = [name for name in _REQUIRED if name not in raw]
    if missing:
        raise InvalidUsageEvent(f"missing required field(s): {', '.join(missing)}")
    transaction_id = _key(raw, "transaction_id")
    customer_key = _key(raw, "customer_id")
    event_type = _key(raw, "event_type")
    timestamp = parse_timestamp(raw["timestamp"], limits)
    properties, encoded = encode_properties(raw.get("properties"), limits)
    return NewEvent(transaction_id, customer_key, event_type, timestamp, properties, encoded)


def _reference(raw: Any) -> str | None:
    if isinstance(raw, dict):
        tx = raw.get("transaction_id")
        if isinstance(tx, str) and tx:
            return tx[:_REFERENCE_MAX]
    return None


def storable_payload(raw: Any) -> Any:
    """The raw event if it survives a JSON round trip on every backend, else its repr."""
    if isinstance(raw, Unparsable):
        return raw.text
    try:
        json.dumps(raw, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return repr(raw)
    return raw


def _batches(events: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


def ingest(
    session: Session,
    events: Iterable[Any],
    settings: Settings,
    *,
    now: datetime | None = None,
) -> IngestReport:
    """Validate and store events in the session's transaction; dead-letter the invalid ones.

    Accepted events are stored as sent (insert-or-ignore on `transaction_id`), attributed
    when their key is already known; the pending sweep attributes the rest. The caller's
    transaction commits them (`store.session()`), before the call's caller returns.
    """
    limits = Limits.of(settings, now or utcnow())
    results: list[EventResult] = []
    offset = 0
    for batch in _batches(events, BATCH_SIZE):
        # Copies within a batch are caught here; across batches the store's insert-or-ignore
        # catches them, so memory stays one batch's worth however long the stream.
        results.extend(_ingest_batch(session, batch, offset, limits))
        offset += len(batch)
    counts = {o: 0 for o in Outcome}
    for r in results:
        counts[r.outcome] += 1
    record_tally(
        session, counts[Outcome.ACCEPTED], counts[Outcome.DUPLICATE], counts[Outcome.REJECTED]
    )
    return IngestReport(
        counts[Outcome.ACCEPTED],
        counts[Outcome.DUPLICATE],
        counts[Outcome.REJECTED],
        tuple(results),
    )


def _ingest_batch(
    session: Session,
    batch: Sequence[Any],
    offset: int,
    limits: Limits,
) -> list[EventResult]:
    results: list[EventResult | None] = [None] * len(batch)
    seen: dict[str, NewEvent] = {}
    failures: list[Failure] = []
    fresh: dict[str, tuple[int, NewEvent]] = {}
    for i, raw in enumerate(batch):
        try:
            event = validate_event(raw, limits)
        except InvalidUsageEvent as exc:
            reason = str(exc)
            results[i] = EventResult(offset + i, _reference(raw), Outcome.REJECTED, reason)
            failures.append(
                Failure(
                    source=DeadLetterSource.USAGE_EVENT,
                    error_class=ERROR_CLASS,
                    error_message=reason,
                    reference=_reference(raw),
                    payload=storable_payload(raw),
                )
            )
            continue
        first = seen.get(event.transaction_id)
        if first is not None:
            results[i] = _duplicate(offset + i, event, _differences(first, event))
            continue
        seen[event.transaction_id] = event
        fresh[event.transaction_id] = (i, event)
    record_many(session, failures)
    inserted = insert_events(session, [e for _, e in fresh.values()])
    already = [tx for tx in fresh if tx not in inserted]
    stored = stored_events(session, already) if already else {}
    for tx, (i, event) in fresh.items():
        if tx in inserted:
            results[i] = EventResult(offset + i, tx, Outcome.ACCEPTED)
        else:
            previous = stored.get(tx)
            diffs = previous.differences(event) if previous is not None else []
            results[i] = _duplicate(offset + i, event, diffs)
    return [r for r in results if r is not None]


def _differences(first: NewEvent, event: NewEvent) -> list[str]:
    return [
        name
        for name, a, b in (
            ("customer_id", first.customer_key, event.customer_key),
            ("event_type", first.event_type, event.event_type),
            ("timestamp", first.timestamp, event.timestamp),
            ("properties", first.properties, event.properties),
        )
        if a != b
    ]


def _duplicate(index: int, event: NewEvent, diffs: list[str]) -> EventResult:
    if diffs:
        reason = (
            f"transaction_id {event.transaction_id!r} was already received with a different "
            f"payload ({', '.join(diffs)} differ); the first copy is kept"
        )
    else:
        reason = f"transaction_id {event.transaction_id!r} was already received"
    return EventResult(index, event.transaction_id, Outcome.DUPLICATE, reason, bool(diffs))
