"""Closed-won opportunity records → deals: pure functions over values, no I/O.

A record that cannot become a deal raises `sync.errors.MappingError` with one actionable
sentence: a property of the record, not of the moment, so the stream dead-letters it.

The functions read the settings through `MappingRules`, the few fields mapping uses, built
once per run by the caller (`MappingRules.of(settings)`), so they stay pure functions of
their values. The contract a deal becomes is the store's own value,
`models.contracts.terms.ContractTerms`; the limits and the currency rule are the store's too
(`models.tables`, `config.values.CURRENCY_CODE`), so a record that maps is one the store
takes. Single values are read by `sync.record_values`, aliases by `sync.alias_mapping`.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.contracts.terms import ContractTerms
from sfsync.sync.alias_mapping import (
    account_alias_origins,
)
from sfsync.sync.errors import MappingError
from sfsync.sync.field_copies import CopiedValue
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.record_values import (
    add_months,
    record_amount,
    record_currency,
    record_instant,
    record_name,
)
from sfsync.sync.salesforce import AccountNode, OpportunityRow, record_value

__all__ = [
    "AliasMemo",
    "Deal",
    "map_opportunity",
]


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


# --- opportunities ---------------------------------------------------------------------------


#: (account id, its alias-field values, its descendants) → the aliases they give.
AliasMemo = dict[tuple[str, tuple[Any, ...], tuple[AccountNode, ...]], Mapping[str, AliasOrigin]]


def map_opportunity(
    row: OpportunityRow,
    rules: MappingRules,
    descendants: Sequence[AccountNode] = (),
    *,
    alias_memo: AliasMemo | None = None,
    org_currency: str | None = None,
) -> Deal:
    """The deal a closed-won Opportunity row (as `soql.opportunity_query` selects it) means:
    its id, account and SystemModstamp as the row parsed them, the rest from its record.

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
    record = row.record
    if row.id is None:
        raise MappingError("the opportunity has no valid Id")
    opportunity_id = row.id
    if row.account is None:
        raise MappingError(
            "opportunity has no AccountId; set the Account on the opportunity in Salesforce"
        )
    account_id = row.account
    account = record.get("Account")
    if not isinstance(account, Mapping):
        raise MappingError(
            f"the opportunity's Account {account_id} is not readable; give the integration user "
            "read access to it in Salesforce"
        )
    account_name = record_name(
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
        name=record_name(
            record.get("Name"),
            f"opportunity {opportunity_id}",
            "name the opportunity in Salesforce",
        ),
        starting_at=(start := _start(record, rules)),
        ending_before=_end(record, rules, start),
        amount=record_amount(record.get("Amount")),
        currency=record_currency(record, rules, org_currency),
    )
    if row.modstamp is None:
        raise MappingError("the opportunity has no SystemModstamp; select it in the query")
    return Deal(
        account_id=account_id,
        account_name=account_name,
        aliases=tuple(origins),
        opportunity_id=opportunity_id,
        contract=contract,
        alias_origins=tuple(origins.values()),
        system_modstamp=row.modstamp,
    )


def _start(record: Mapping[str, Any], rules: MappingRules) -> datetime:
    field = rules.start_field
    value = record_value(record, field)
    if value is None:
        raise MappingError(
            f"the opportunity has no {field} for the contract start; fill it in Salesforce "
            "or change SFSYNC_CONTRACT_START_FIELD"
        )
    return record_instant(value, field, "SFSYNC_CONTRACT_START_FIELD")[0]


def _end(record: Mapping[str, Any], rules: MappingRules, start: datetime) -> datetime | None:
    end: datetime | None = None
    if rules.end_field:
        field = rules.end_field
        value = record_value(record, field)
        if value is not None:
            instant, is_date = record_instant(value, field, "SFSYNC_CONTRACT_END_FIELD")
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
