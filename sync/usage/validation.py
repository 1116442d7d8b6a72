"""Usage event validation: pure checks over values, a reason for every rejection.

Plain Python over values (a pydantic model per event would cost more than the database
insert), iterative where input can be deep, identical for every front door and both
stores: what passes here can be stored on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfsync.models import exactjson
from sfsync.models.keys import canonical_key
from sfsync.models.tables import MAX_EVENT_KEY
from sfsync.models.usage.events import NewEvent
from sfsync.sync.usage.errors import InvalidUsageEvent
from sfsync.sync.usage.properties import (
    MAX_PROPERTIES_DEPTH,
    encode_properties,
)
from sfsync.sync.usage.rules import Limits
from sfsync.sync.usage.values import check_text, kind_of, parse_timestamp

# The rules, single values and properties live in their own modules (rules, values,
# properties); the names callers import from here stay importable here.
__all__ = [
    "FIELDS",
    "PAYLOAD_PREFIX",
    "Oversized",
    "Unparsable",
    "storable_payload",
    "validate_event",
]

FIELDS = ("transaction_id", "customer_id", "event_type", "timestamp", "properties")
_REQUIRED = FIELDS[:4]
_FIELD_SET = frozenset(FIELDS)

#: Characters of an oversized or unstorable input kept in its dead letter.
PAYLOAD_PREFIX = 4096


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


def _key(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str):
        kind = "missing" if value is None and name not in event else f"a {kind_of(value)}"
        raise InvalidUsageEvent(
            f"{name} must be a string of 1 to {MAX_EVENT_KEY} characters, got {kind}"
        )
    if not 1 <= len(value) <= MAX_EVENT_KEY:
        raise InvalidUsageEvent(
            f"{name} must have 1 to {MAX_EVENT_KEY} characters, got {len(value)}"
        )
    if not value.isascii():
        check_text(name, value)
    elif "\x00" in value:
        raise InvalidUsageEvent(f"{name} must not contain NUL characters")
    return value


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
        raise InvalidUsageEvent(f"an event must be a JSON object, got a {kind_of(raw)}")
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
