"""Conversions between typed field values and their JSON (wire) form."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sfsync.sandbox import ids
from sfsync.sandbox.schema import FieldDef, FieldType

Value = str | bool | float | int | date | datetime | None

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


class FieldValueError(Exception):
    """A value that does not fit its field; carries the Salesforce error code."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def truncate_ms(when: datetime) -> datetime:
    """Drop sub-millisecond precision, which Salesforce never stores or returns."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def format_datetime(when: datetime) -> str:
    """Salesforce's wire form, e.g. 2026-11-02T14:05:09.000+0000."""
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    # isoformat is several times faster than strftime, which matters when seeding 100k rows.
    return when.isoformat(timespec="milliseconds")[:-6] + "+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse ISO-8601 forms (Z, +hh:mm, +hhmm, none = UTC); None if malformed."""
    m = _DATETIME_RE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "0").ljust(6, "0")
    tz = m.group(8)
    tzinfo: timezone = UTC
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        value = datetime(year, month, day, hour, minute, second, int(frac), tzinfo=tzinfo)
    except ValueError:
        return None
    return value.astimezone(UTC)


def parse_date(text: str) -> date | None:
    """Parse YYYY-MM-DD; None if malformed."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def from_wire(f: FieldDef, raw: Any) -> Value:
    """Typed value from JSON input; raises FieldValueError when it does not fit the field."""
    if raw is None:
        return None
    t = f.type
    bad = FieldValueError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.name}: value not of required type: {raw!r}",
        f.name,
    )
    if t in (FieldType.STRING, FieldType.PICKLIST):
        if not isinstance(raw, str):
            raise bad
        return raw
    if t in (FieldType.ID, FieldType.REFERENCE):
        if not isinstance(raw, str) or len(raw) not in (15, 18) or not raw.isalnum():
            raise FieldValueError(
                "MALFORMED_ID", f"{f.name}: id value of incorrect type: {raw}", f.name
            )
        return ids.to18(raw)
    if t is FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise bad
        return raw
    if t in (FieldType.CURRENCY, FieldType.DOUBLE):
        if isinstance(raw, bool):
            raise bad
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise bad from None
        return round(number, 2) if t is FieldType.CURRENCY else number
    if t is FieldType.DATE:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        parsed_date = parse_date(raw) if isinstance(raw, str) else None
        if parsed_date is None:
            raise bad
        return parsed_date
    if t is FieldType.DATETIME:
        if isinstance(raw, datetime):
            return truncate_ms(raw.astimezone(UTC))
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if parsed is None:
            raise bad
        return truncate_ms(parsed)
    raise bad
