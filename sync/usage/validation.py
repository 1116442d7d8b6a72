"""Usage event validation: pure checks over values, a reason for every rejection.

Plain Python over values (a pydantic model per event would cost more than the database
insert), iterative where input can be deep, identical for every front door and both
stores: what passes here can be stored on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sfsync.config import Settings
from sfsync.models import exactjson
from sfsync.models.keys import canonical_key
from sfsync.models.tables import MAX_EVENT_KEY
from sfsync.models.usage.events import NewEvent
from sfsync.sync.usage.errors import InvalidUsageEvent

__all__ = [
    "FIELDS",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "MAX_PROPERTIES_DEPTH",
    "PAYLOAD_PREFIX",
    "Limits",
    "Oversized",
    "Unparsable",
    "UsageRules",
    "encode_properties",
    "parse_timestamp",
    "storable_payload",
    "validate_event",
]

#: Deepest nesting of `properties` (the object itself is level 1).
MAX_PROPERTIES_DEPTH = 32
#: Property numbers: significant digits and decimal exponent both stores hold exactly.
MAX_NUMBER_DIGITS = 64
MAX_NUMBER_EXPONENT = 999

FIELDS = ("transaction_id", "customer_id", "event_type", "timestamp", "properties")
_REQUIRED = FIELDS[:4]
_FIELD_SET = frozenset(FIELDS)

#: Characters of an oversized or unstorable input kept in its dead letter.
PAYLOAD_PREFIX = 4096

# RFC 3339 date-time: full date, 'T' (or space, which RFC 3339 allows), time with optional
# fraction, and a mandatory offset. fromisoformat alone would also take dates, week dates
# and offset-less times.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Unparsable:
    """An input that was not even JSON (e.g. a bad line of a JSON Lines file)."""

    text: str
    error: str


@dataclass(frozen=True, slots=True)
class Oversized:
    """An input too large to read (a line or array element): its first characters and size."""

    prefix: str
    size: int
    limit: int
    where: str

    def payload(self) -> dict[str, Any]:
        return {"oversized": True, "prefix": self.prefix, "chars": self.size}


@dataclass(frozen=True, slots=True)
class UsageRules:
    """The usage settings validation and ingest apply, read once from `Settings`: the pure
    code below takes this (or the `Limits` it gives at an instant), never `Settings`."""

    max_age_days: int
    max_future_hours: int
    max_properties_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> UsageRules:
        return cls(
            settings.usage_max_age_days,
            settings.usage_max_future_hours,
            settings.usage_max_properties_bytes,
        )

    @property
    def max_event_chars(self) -> int:
        """The largest raw event worth reading: its properties at the limit, written loosely
        (escapes, whitespace), plus the four key fields. Larger input is rejected unread."""
        return 8 * self.max_properties_bytes + 8 * 1024


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
    def of(cls, rules: UsageRules, now: datetime) -> Limits:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        return cls(
            now,
            now - timedelta(days=rules.max_age_days),
            now + timedelta(hours=rules.max_future_hours),
            rules.max_age_days,
            rules.max_future_hours,
            rules.max_properties_bytes,
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
        Decimal: "number",
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
    parsed = _basic_utc(value)
    if parsed is None:
        parsed = _rfc3339(value)
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


def _basic_utc(value: str) -> datetime | None:
    """The common form, 2026-11-20T14:05:09Z, read without the RFC 3339 pattern (half the
    cost of `parse_timestamp`); None for any other text, which `_rfc3339` reads and judges.

    The separators and ASCII are checked here; `fromisoformat` then takes only digits in
    the other places, so what it accepts the pattern would have accepted (a property test
    holds the two paths to the same results)."""
    if (
        len(value) != 20
        or value[19] != "Z"
        or value[10] != "T"
        or value[4] != "-"
        or value[7] != "-"
        or value[13] != ":"
        or value[16] != ":"
        or not value.isascii()
    ):
        return None
    try:
        return datetime.fromisoformat(value)  # 'Z' reads as UTC itself
    except ValueError:
        return None


def _rfc3339(value: str) -> datetime:
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
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is before year 1 in UTC (9999-12-31…-01:00 after 9999).
        raise InvalidUsageEvent(
            f"timestamp {shown!r} is outside the years 1 to 9999 once converted to UTC"
        ) from None
    return parsed


def encode_properties(value: Any, limits: Limits) -> tuple[dict[str, Any], str]:
    """The properties object and its compact JSON text, checked for type and size."""
    if value is None:
        return {}, "{}"
    if not isinstance(value, dict):
        raise InvalidUsageEvent(f"properties must be a JSON object, got a {_kind(value)}")
    if not value:
        return {}, "{}"
    flat = _flat_json(value)
    if flat is not None:
        encoded, size = flat
    else:
        _check_values(value)
        try:
            encoded = exactjson.dumps(value)
            size = len(encoded.encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise InvalidUsageEvent(f"properties must be plain JSON: {exc}") from None
    if size > limits.max_properties_bytes:
        raise InvalidUsageEvent(
            f"properties are {size} bytes as JSON; the limit is {limits.max_properties_bytes} "
            f"bytes (SFSYNC_USAGE_MAX_PROPERTIES_BYTES)"
        )
    return value, encoded


# Integers this small need no digit count (the limit is 2**212, MAX_NUMBER_DIGITS digits).
_SMALL_INT = 2**63
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# The C encoder behind _COMPACT, made once: JSONEncoder.encode builds a new one per call,
# which cost as much as encoding a small object. Flat objects only: no cycle check needed.
_FLAT_ENCODER: Callable[[Any, int], Iterable[str]] | None = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _COMPACT.default, encode_basestring, None, ":", ",", False, False, False
    )
)


def _compact_flat(properties: dict[str, Any]) -> str:
    if _FLAT_ENCODER is None:  # an interpreter without the C accelerator
        return _COMPACT.encode(properties)
    return "".join(_FLAT_ENCODER(properties, 0))


def _flat_json(properties: dict[Any, Any]) -> tuple[str, int] | None:
    """Compact JSON and its UTF-8 size of a flat object of strings, small integers, booleans
    and nulls, checked on its text; None when the object needs `_check_values`' full walk.

    The common event's properties take this path: one loop over exact types and one C
    encoding instead of a walk that tests every value against every rule (the profile in
    the README). A NUL anywhere shows up as its escape in the text; a lone surrogate makes
    the UTF-8 encoding fail; either sends the object to the full walk, which names the rule.
    """
    for key, item in properties.items():
        kind = type(item)
        if type(key) is not str or not (
            kind is str
            or item is None
            or kind is bool
            or (kind is int and -_SMALL_INT < item < _SMALL_INT)
        ):
            return None
    text = _compact_flat(properties)
    if "\\u0000" in text:
        return None
    if text.isascii():
        return text, len(text)
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _check_values(properties: dict[Any, Any]) -> None:
    """Every value storable alike on SQLite and PostgreSQL; no recursion, however deep."""
    stack: list[tuple[Any, int]] = [(properties, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            if level > MAX_PROPERTIES_DEPTH:
                raise InvalidUsageEvent(
                    f"properties nest deeper than {MAX_PROPERTIES_DEPTH} levels"
                )
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidUsageEvent(
                        "properties must be a JSON object (its keys must be strings)"
                    )
                _check_text("a property name", key)
                stack.append((child, level + 1))
        elif isinstance(item, list):
            if level > MAX_PROPERTIES_DEPTH:
                raise InvalidUsageEvent(
                    f"properties nest deeper than {MAX_PROPERTIES_DEPTH} levels"
                )
            stack.extend((child, level + 1) for child in item)
        elif isinstance(item, str):
            if not item.isascii() or "\x00" in item:
                _check_text("a property value", item)
        elif isinstance(item, float | Decimal | int) and not isinstance(item, bool):
            _check_number(item)
        elif item is not None and not isinstance(item, bool):
            raise InvalidUsageEvent(
                f"properties must be plain JSON: a {type(item).__name__} is not a JSON value"
            )


def _check_number(value: float | Decimal | int) -> None:
    if isinstance(value, int):
        if value.bit_length() > 212:  # 2**212 has 64 digits
            raise InvalidUsageEvent(
                f"property numbers have at most {MAX_NUMBER_DIGITS} digits; "
                f"got an integer of {value.bit_length()} bits"
            )
        return
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise InvalidUsageEvent(f"properties must be plain JSON: numbers are finite, got {value}")
    digits = len(number.as_tuple().digits)
    if digits > MAX_NUMBER_DIGITS:
        raise InvalidUsageEvent(
            f"property numbers have at most {MAX_NUMBER_DIGITS} significant digits, "
            f"got one with {digits}"
        )
    if number and abs(number.adjusted()) > MAX_NUMBER_EXPONENT:
        raise InvalidUsageEvent(
            f"property numbers lie between 1e-{MAX_NUMBER_EXPONENT} and "
            f"1e{MAX_NUMBER_EXPONENT} in size, got one of magnitude 1e{number.adjusted()}"
        )


def validate_event(raw: Any, limits: Limits) -> NewEvent:
    """Check one raw event; raise `InvalidUsageEvent` with an actionable reason."""
    if not isinstance(raw, dict):
        if isinstance(raw, Unparsable):
            raise InvalidUsageEvent(f"not valid JSON: {raw.error}")
        if isinstance(raw, Oversized):
            raise InvalidUsageEvent(
                f"{raw.where} is {raw.size} characters long; an event longer than {raw.limit} "
                "is not read (SFSYNC_USAGE_MAX_PROPERTIES_BYTES sets the limit); its start is "
                "kept"
            )
        raise InvalidUsageEvent(f"an event must be a JSON object, got a {_kind(raw)}")
    if not raw.keys() <= _FIELD_SET:
        unknown = sorted(str(k) for k in raw if k not in FIELDS)
        raise InvalidUsageEvent(
            f"unknown field(s) {', '.join(unknown)}; an event has {', '.join(FIELDS)}"
        )
    # Its keys are known fields, so it has every required one when it has four besides
    # properties (one length test instead of a second set comparison).
    if len(raw) - ("properties" in raw) != len(_REQUIRED):
        missing = [name for name in _REQUIRED if name not in raw]
        raise InvalidUsageEvent(f"missing required field(s): {', '.join(missing)}")
    transaction_id = raw["transaction_id"]
    customer_key = raw["customer_id"]
    event_type = raw["event_type"]
    if not _plain_keys(transaction_id, customer_key, event_type):
        # The full checks, field by field, in order: the first bad field names the reason.
        transaction_id = _key(raw, "transaction_id")
        customer_key = _key(raw, "customer_id")
        event_type = _key(raw, "event_type")
    # One spelling per identity (a customer id in any UUID spelling, an Account id in 15 or
    # 18 characters): the key is stored and matched as aliases are (`models.keys`).
    customer_key = canonical_key(customer_key)
    timestamp = parse_timestamp(raw["timestamp"], limits)
    properties, encoded = encode_properties(raw.get("properties"), limits)
    return NewEvent(transaction_id, customer_key, event_type, timestamp, properties, encoded)


def _plain_keys(transaction_id: Any, customer_key: Any, event_type: Any) -> bool:
    """Whether all three keys pass `_key` on its cheapest path (ASCII strings of 1 to
    MAX_EVENT_KEY characters without NUL): one test for the common event instead of three
    calls; any other value goes through `_key`, which names what is wrong."""
    return (
        type(transaction_id) is str
        and type(customer_key) is str
        and type(event_type) is str
        and 0 < len(transaction_id) <= MAX_EVENT_KEY
        and 0 < len(customer_key) <= MAX_EVENT_KEY
        and 0 < len(event_type) <= MAX_EVENT_KEY
        and (joined := transaction_id + customer_key + event_type).isascii()
        and "\x00" not in joined
    )


def storable_payload(raw: Any, max_chars: int) -> Any:
    """The raw event if every backend can store it and it is at most `max_chars` as JSON;
    else a small stand-in: its first `PAYLOAD_PREFIX` characters and its size."""
    if isinstance(raw, Unparsable):
        return raw.text
    if isinstance(raw, Oversized):
        return raw.payload()
    if exactjson.depth(raw, MAX_PROPERTIES_DEPTH + 2) > MAX_PROPERTIES_DEPTH + 2:
        return {"unstorable": "nested too deeply to store", "prefix": _prefix(raw)}
    try:
        text = exactjson.dumps(raw, ensure_ascii=True)
    except (TypeError, ValueError):
        return {"unstorable": "not plain JSON", "prefix": repr(raw)[:PAYLOAD_PREFIX]}
    if len(text) > max_chars:
        return Oversized(text[:PAYLOAD_PREFIX], len(text), max_chars, "the event").payload()
    return raw


def _prefix(raw: Any) -> str:
    try:
        return exactjson.dumps(raw, ensure_ascii=True)[:PAYLOAD_PREFIX]
    except (RecursionError, TypeError, ValueError):
        return "(too deeply nested to show)"
