"""Salesforce field values → the store's values, pure: datetimes, dates, contract instants,
amounts, currencies and names a store can hold. A value that cannot be taken raises
`sync.errors.MappingError` with one actionable sentence.

Amounts become `Decimal` through `str()` of the JSON number, never float arithmetic. Names
longer than the billing model's (`models.tables.MAX_NAME`) are rejected, not truncated.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfsync.config.values import CURRENCY_CODE
from sfsync.models.tables import MAX_NAME
from sfsync.models.types import plain_decimal
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping_rules import MappingRules

__all__ = [
    "add_months",
    "check_storable",
    "parse_sf_date",
    "parse_sf_datetime",
    "record_amount",
    "record_currency",
    "record_instant",
    "record_name",
]


def parse_sf_datetime(s: str) -> datetime:
    """A Salesforce datetime (``2026-11-02T14:05:09.000+0000``) as an aware UTC datetime."""
    if not isinstance(s, str) or "T" not in s:
        raise MappingError(
            f"{s!r} is not a Salesforce datetime such as 2026-11-02T14:05:09.000+0000"
        )
    try:
        value = datetime.fromisoformat(s)
    except ValueError:
        raise MappingError(
            f"{s!r} is not a Salesforce datetime such as 2026-11-02T14:05:09.000+0000"
        ) from None
    if value.utcoffset() is None:
        raise MappingError(f"the datetime {s!r} has no timezone; Salesforce always sends one")
    return value.astimezone(UTC)


def parse_sf_date(s: str) -> date:
    """A Salesforce date (``2026-11-02``)."""
    if not isinstance(s, str) or len(s) != 10:
        raise MappingError(f"{s!r} is not a Salesforce date such as 2026-11-02")
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise MappingError(f"{s!r} is not a Salesforce date such as 2026-11-02") from None


def record_instant(value: Any, field: str, setting: str) -> tuple[datetime, bool]:
    """(UTC instant, whether the field held a date) of a date or datetime field value."""
    if not isinstance(value, str):
        raise MappingError(
            f"opportunity field {field} (from {setting}) holds {value!r}, not a date or datetime; "
            f"fill it in Salesforce or point {setting} at a date field"
        )
    try:
        if "T" in value:
            return parse_sf_datetime(value), False
        day = parse_sf_date(value)
    except MappingError as exc:
        raise MappingError(f"opportunity field {field} (from {setting}): {exc.reason}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC), True


def add_months(start: datetime, months: int) -> datetime:
    """`start` plus calendar months, the day clamped to the target month's length."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def record_amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MappingError(
            f"the opportunity Amount {value!r} is not a number; correct it in Salesforce"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise MappingError(
            f"the opportunity Amount {value!r} is not a finite number; correct it in Salesforce"
        )
    try:
        # str() of a float is its shortest repr: 0.1 stays 0.1, not 0.1000000000000000055.
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(
            f"the opportunity Amount {value!r} is not a number; correct it in Salesforce"
        ) from None
    if not amount.is_finite():
        raise MappingError(
            f"the opportunity Amount {value!r} is not a finite number; correct it in Salesforce"
        )
    if amount < 0:
        raise MappingError(
            f"the opportunity Amount {plain_decimal(amount):f} is negative; "
            "a contract amount cannot be below zero"
        )
    return plain_decimal(amount)


def record_currency(
    record: Mapping[str, Any], rules: MappingRules, org_currency: str | None
) -> str:
    """The record's CurrencyIsoCode; without one (a single-currency org), the override
    SFSYNC_DEFAULT_CURRENCY, else the org's default currency."""
    value = record.get("CurrencyIsoCode")
    currency = value
    if value is None or value == "":
        currency = rules.default_currency or org_currency
    if currency is None:
        raise MappingError(
            "the opportunity has no CurrencyIsoCode and the org's default currency is unknown "
            "(Organization.DefaultCurrencyIsoCode could not be read); set "
            "SFSYNC_DEFAULT_CURRENCY"
        )
    if not isinstance(currency, str) or not CURRENCY_CODE.fullmatch(currency):
        raise MappingError(
            f"the currency {currency!r} is not an ISO 4217 code of three upper-case letters; "
            "correct CurrencyIsoCode in Salesforce or SFSYNC_DEFAULT_CURRENCY"
        )
    return currency


def check_storable(text: str, what: str) -> None:
    """Refuse text no store can hold: a NUL, or a lone surrogate that is not UTF-8."""
    if "\x00" in text:
        raise MappingError(f"the {what} contains a NUL character; remove it in Salesforce")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MappingError(
            f"the {what} contains text that is not valid Unicode; retype it in Salesforce"
        ) from None


def record_name(value: Any, what: str, fix: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise MappingError(f"the {what} has no name; {fix}")
    check_storable(name, f"{what} name")
    if len(name) > MAX_NAME:
        raise MappingError(
            f"the {what} name is {len(name)} characters, more than the {MAX_NAME} a billing "
            f"name allows; shorten it in Salesforce"
        )
    return name
