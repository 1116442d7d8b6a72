"""Checks of single usage values: text both stores can hold, JSON type names for messages,
and RFC 3339 timestamps inside the accepted window. Each rejection raises
`sync.usage.errors.InvalidUsageEvent` with its reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sfsync.sync.usage.errors import InvalidUsageEvent
from sfsync.sync.usage.rules import Limits

__all__ = ["check_text", "kind_of", "parse_timestamp"]

# RFC 3339 date-time: full date, 'T' (or space, which RFC 3339 allows), time with optional
# fraction, and a mandatory offset. fromisoformat alone would also take dates, week dates
# and offset-less times.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def check_text(name: str, value: str) -> None:
    # Lone surrogates cannot be stored as UTF-8 and NUL is refused by PostgreSQL text.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidUsageEvent(f"{name} is not valid Unicode text") from None
    if "\x00" in value:
        raise InvalidUsageEvent(f"{name} must not contain NUL characters")


def kind_of(value: Any) -> str:
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
            f"got a {kind_of(value)}"
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
