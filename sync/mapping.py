"""Closed-won opportunity records → deals: pure functions over values, no I/O.

A record that cannot become a deal raises `sync.errors.MappingError` with one actionable
sentence: a property of the record, not of the moment, so the stream dead-letters it.

The functions read the settings through `MappingRules`, the few fields mapping uses, built
once per run by the caller (`MappingRules.of(settings)`), so they stay pure functions of
their values. The contract a deal becomes is the store's own value,
`models.contracts.terms.ContractTerms`; the limits and the currency rule are the store's too
(`models.tables`, `config.settings.CURRENCY_CODE`), so a record that maps is one the store
takes.

Decisions worth knowing:

- Names longer than the billing model's (`models.tables.MAX_NAME`, 160 characters) are
  rejected, not truncated: two deals whose names differ only after the limit would
  otherwise look identical, and a silently shortened name on an invoice is worse than a
  dead letter that says what to fix.
- A date-valued end field is the contract's last day (Salesforce's ``Contract.EndDate``
  is inclusive), so ``ending_before`` is the following midnight UTC; a datetime-valued
  end field keeps its instant. A term in months ends exactly N calendar months after the
  start (day clamped to the month's end), which is already exclusive.
- Amounts become `Decimal` through `str()` of the JSON number, never float arithmetic.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sfsync.config import Settings
from sfsync.config.mapping_schema import FieldCopy
from sfsync.config.settings import CURRENCY_CODE
from sfsync.models.aliases.lookups import ACCOUNT_ID_FIELD, AliasOrigin
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.keys import canonical_key
from sfsync.models.tables import MAX_ALIAS, MAX_NAME
from sfsync.models.types import plain_decimal
from sfsync.sync.errors import MappingError
from sfsync.sync.field_copies import CopiedValue
from sfsync.sync.salesforce import AccountNode, normalize_id, record_value

__all__ = [
    "MULTI_SELECT_SEPARATOR",
    "AliasMemo",
    "Deal",
    "MappingRules",
    "account_alias_origins",
    "account_aliases",
    "add_months",
    "map_opportunity",
    "parse_sf_date",
    "parse_sf_datetime",
    "split_alias_values",
]

# Salesforce joins the values of a multi-select picklist with ";"; the REST value carries no
# field type, so a ";" is taken as the mark of several values. Spaces and commas are text.
MULTI_SELECT_SEPARATOR = ";"


@dataclass(frozen=True)
class MappingRules:
    """What mapping reads of the settings: the record fields it takes and the alias rules."""

    #: SFSYNC_SF_ALIAS_FIELDS: account fields whose values are aliases, in order.
    alias_fields: tuple[str, ...]
    #: SFSYNC_ALIAS_INCLUDE_ACCOUNT_ID / _SUBORGS.
    include_account_id: bool
    include_suborgs: bool
    #: SFSYNC_CONTRACT_START_FIELD / _END_FIELD / _TERM_FIELD.
    start_field: str
    end_field: str | None
    term_field: str | None
    #: SFSYNC_DEFAULT_CURRENCY: overrides the org's currency for records without one.
    default_currency: str | None
    #: SFSYNC_FIELD_COPIES (`[[copy]]`): Salesforce fields copied into custom fields.
    copies: tuple[FieldCopy, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> MappingRules:
        """The rules of `settings` (build once per run: the settings do not change in one)."""
        return cls(
            alias_fields=tuple(settings.sf_alias_fields),
            include_account_id=settings.alias_include_account_id,
            include_suborgs=settings.alias_include_suborgs,
            start_field=settings.contract_start_field,
            end_field=settings.contract_end_field,
            term_field=settings.contract_term_field,
            default_currency=settings.default_currency,
            copies=tuple(settings.field_copies),
        )


@dataclass(frozen=True)
class Deal:
    """A closed-won opportunity as the store needs it: whose, which aliases, which contract
    (its terms, and the opportunity that identifies it)."""

    account_id: str
    account_name: str
    aliases: tuple[str, ...]
    opportunity_id: str
    contract: ContractTerms
    system_modstamp: datetime
    #: Where each of `aliases` comes from (same order; empty for a hand-made deal).
    alias_origins: tuple[AliasOrigin, ...] = ()
    #: Custom field values copied from the record (`sync.field_copies`).
    field_copies: tuple[CopiedValue, ...] = ()

    def origins(self) -> dict[str, AliasOrigin]:
        """alias → its Salesforce origin."""
        return dict(zip(self.aliases, self.alias_origins, strict=False))


# --- values ----------------------------------------------------------------------------------


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


def _instant(value: Any, field: str, setting: str) -> tuple[datetime, bool]:
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


def _amount(value: Any) -> Decimal | None:
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


def _currency(record: Mapping[str, Any], rules: MappingRules, org_currency: str | None) -> str:
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


def _storable(text: str, what: str) -> None:
    """Refuse text no store can hold: a NUL, or a lone surrogate that is not UTF-8."""
    if "\x00" in text:
        raise MappingError(f"the {what} contains a NUL character; remove it in Salesforce")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MappingError(
            f"the {what} contains text that is not valid Unicode; retype it in Salesforce"
        ) from None


def _name(value: Any, what: str, fix: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise MappingError(f"the {what} has no name; {fix}")
    _storable(name, f"{what} name")
    if len(name) > MAX_NAME:
        raise MappingError(
            f"the {what} name is {len(name)} characters, more than the {MAX_NAME} a billing "
            f"name allows; shorten it in Salesforce"
        )
    return name


# --- aliases ---------------------------------------------------------------------------------


def split_alias_values(values: Iterable[Any]) -> list[str]:
    """The aliases in alias-field values: a value holding ``;`` is a multi-select picklist's
    and gives one alias per selected value; any other value is one alias (``tenant 42``).

    Each alias is stripped of surrounding whitespace and taken in its canonical form (as the
    store keeps it, `models.keys`); empty ones are dropped.
    """
    parts: list[str] = []
    for value in values:
        if value is None:
            continue
        parts.extend(
            canonical_key(stripped)
            for part in str(value).split(MULTI_SELECT_SEPARATOR)
            if (stripped := part.strip())
        )
    return parts


def _field_values(
    values: Sequence[Any], fields: Sequence[str] | None, rules: MappingRules
) -> list[tuple[str, Any]]:
    """(field, value) pairs: `fields` names each value's field; without it (or when the
    lengths differ) the values are taken to be the configured alias fields, in order."""
    names = list(fields) if fields is not None and len(fields) == len(values) else None
    if names is None:
        configured = rules.alias_fields
        names = [
            configured[i] if i < len(configured) else "alias field" for i in range(len(values))
        ]
    return list(zip(names, values, strict=True))


def account_alias_origins(
    account_id: str,
    alias_values: Iterable[Any],
    descendants: Sequence[AccountNode],
    rules: MappingRules,
    alias_fields: Sequence[str] | None = None,
) -> dict[str, AliasOrigin]:
    """The ingest aliases of an account (see `account_aliases`), each with the account and
    field it comes from (the first one, in the order the aliases are listed)."""
    # (alias, origin, where it came from for a useful error)
    candidates: list[tuple[str, AliasOrigin, str]] = []
    own_id = normalize_id(account_id)
    if rules.include_account_id:
        candidates.append((own_id, AliasOrigin(own_id, ACCOUNT_ID_FIELD), f"account {own_id}"))
    for name, value in _field_values(tuple(alias_values), alias_fields, rules):
        candidates += [
            (part, AliasOrigin(own_id, name), f"an alias field of account {own_id}")
            for part in split_alias_values([value])
        ]
    if rules.include_suborgs:
        for node in descendants:
            node_id = normalize_id(node.id)
            candidates.append(
                (node_id, AliasOrigin(node_id, ACCOUNT_ID_FIELD), f"sub-organisation {node.id}")
            )
            for name, value in _field_values(node.alias_values, node.alias_fields, rules):
                candidates += [
                    (
                        part,
                        AliasOrigin(node_id, name),
                        f"an alias field of sub-organisation {node.id}",
                    )
                    for part in split_alias_values([value])
                ]
    aliases: dict[str, AliasOrigin] = {}
    for alias, origin, source in candidates:
        _storable(alias, f"alias from {source}")
        if len(alias) > MAX_ALIAS:
            raise MappingError(
                f"the alias {alias[:20]!r}… from {source} is {len(alias)} characters, more than "
                f"{MAX_ALIAS}; shorten the value in Salesforce or remove the field from "
                "SFSYNC_SF_ALIAS_FIELDS"
            )
        aliases.setdefault(alias, origin)
    # More than a customer can hold is not an error of the record: the store attaches what
    # fits, in this order, and letters the rest (`sync.merges`).
    return aliases


def account_aliases(
    account_id: str,
    alias_values: Iterable[Any],
    descendants: Sequence[AccountNode],
    rules: MappingRules,
) -> tuple[str, ...]:
    """The ingest aliases of an account: its id, alias-field values, and its sub-organisations'."""
    return tuple(account_alias_origins(account_id, alias_values, descendants, rules))


# --- opportunities ---------------------------------------------------------------------------


#: (account id, its alias-field values, its descendants) → the aliases they give.
AliasMemo = dict[tuple[str, tuple[Any, ...], tuple[AccountNode, ...]], Mapping[str, AliasOrigin]]


def map_opportunity(
    record: Mapping[str, Any],
    rules: MappingRules,
    descendants: Sequence[AccountNode] = (),
    *,
    alias_memo: AliasMemo | None = None,
    org_currency: str | None = None,
) -> Deal:
    """The deal a closed-won Opportunity record (as `soql.opportunity_query` selects it) means.

    `alias_memo` remembers the aliases computed for an account, keyed by the account id,
    its alias-field values in this record and its descendants: a later deal with the same
    three reuses them instead of gathering and validating the hierarchy's aliases again
    (which costs more than the rest of a deal), and an account whose values or hierarchy
    changed gets a new entry. The memo is the caller's to keep and bound (`sync.opportunities`
    keeps one per run and clears it past `ALIAS_MEMO_MAX` accounts); a record whose values
    cannot be a key (unhashable) is mapped without it, and aliases that fail validation are
    not remembered (each such record raises its own `MappingError`). `org_currency` is the
    org's default currency, for records without CurrencyIsoCode.
    """
    opportunity_id = _record_id(record.get("Id"), "the opportunity has no valid Id")
    account_raw = record.get("AccountId")
    if not account_raw:
        raise MappingError(
            "opportunity has no AccountId; set the Account on the opportunity in Salesforce"
        )
    account_id = _record_id(
        account_raw, f"the opportunity's AccountId {account_raw!r} is not a Salesforce id"
    )
    account = record.get("Account")
    if not isinstance(account, Mapping):
        raise MappingError(
            f"the opportunity's Account {account_id} is not readable; give the integration user "
            "read access to it in Salesforce"
        )
    account_name = _name(
        account.get("Name"), f"account {account_id}", "name the Account in Salesforce"
    )
    alias_values = tuple(record_value(account, field) for field in rules.alias_fields)
    key = (account_id, alias_values, tuple(descendants))
    try:
        origins = alias_memo.get(key) if alias_memo is not None else None
    except TypeError:  # an unhashable field value: map it without the memo
        alias_memo = origins = None
    if origins is None:
        origins = account_alias_origins(
            account_id, alias_values, descendants, rules, rules.alias_fields
        )
        if alias_memo is not None:
            alias_memo[key] = origins

    contract = ContractTerms(
        name=_name(
            record.get("Name"),
            f"opportunity {opportunity_id}",
            "name the opportunity in Salesforce",
        ),
        starting_at=(start := _start(record, rules)),
        ending_before=_end(record, rules, start),
        amount=_amount(record.get("Amount")),
        currency=_currency(record, rules, org_currency),
    )
    modstamp = record.get("SystemModstamp")
    if not isinstance(modstamp, str):
        raise MappingError("the opportunity has no SystemModstamp; select it in the query")
    return Deal(
        account_id=account_id,
        account_name=account_name,
        aliases=tuple(origins),
        opportunity_id=opportunity_id,
        contract=contract,
        alias_origins=tuple(origins.values()),
        system_modstamp=parse_sf_datetime(modstamp),
    )


def _record_id(value: Any, reason: str) -> str:
    try:
        return normalize_id(value)
    except ValueError:
        raise MappingError(reason) from None


def _start(record: Mapping[str, Any], rules: MappingRules) -> datetime:
    field = rules.start_field
    value = record_value(record, field)
    if value is None:
        raise MappingError(
            f"the opportunity has no {field} for the contract start; fill it in Salesforce "
            "or change SFSYNC_CONTRACT_START_FIELD"
        )
    return _instant(value, field, "SFSYNC_CONTRACT_START_FIELD")[0]


def _end(record: Mapping[str, Any], rules: MappingRules, start: datetime) -> datetime | None:
    end: datetime | None = None
    if rules.end_field:
        field = rules.end_field
        value = record_value(record, field)
        if value is not None:
            instant, is_date = _instant(value, field, "SFSYNC_CONTRACT_END_FIELD")
            # A date names the contract's last day, inclusive; ending_before is exclusive.
            end = instant + timedelta(days=1) if is_date and instant.year < 9999 else instant
    if end is None and rules.term_field:
        end = _term_end(record_value(record, rules.term_field), rules.term_field, start)
    if end is not None and end <= start:
        raise MappingError(
            f"the contract would end ({end.isoformat()}) at or before it starts "
            f"({start.isoformat()}); "
            "correct the opportunity's dates or term in Salesforce"
        )
    return end


def _term_end(value: Any, field: str, start: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        months = Decimal(str(value))
    except InvalidOperation:
        months = Decimal("NaN")
    if (
        isinstance(value, bool)
        or not months.is_finite()
        or months != months.to_integral_value()
        or months <= 0
    ):
        raise MappingError(
            f"the contract term {value!r} in {field} (SFSYNC_CONTRACT_TERM_FIELD) is not a whole "
            "number of months above zero; correct it in Salesforce"
        )
    try:
        return add_months(start, int(months))
    except (ValueError, OverflowError):
        raise MappingError(
            f"the contract term {value!r} in {field} (SFSYNC_CONTRACT_TERM_FIELD) ends beyond "
            "the year 9999; correct it in Salesforce"
        ) from None
