"""SOQL text for the opportunity and account streams.

The builders are pure functions of `QueryRules`, the few settings a query depends on (field
names, the opportunity filter, the roll-up and currency flags), built once per run with
`QueryRules.of(rules)`. Values always go through `simple_salesforce.format_soql` (quoting
and escaping); field names from settings cannot be quoted, so `QueryRules.of` validates them
as SOQL identifiers and a bad one raises `SalesforceConfigError` naming the setting.
Datetimes must be timezone-aware.

Queries sent with GET must fit in a URL, so IN-lists are split with `chunk_ids`.

With the hierarchy roll-up on, the opportunity query also selects the account's ancestors
as far up as SOQL's relationship limit allows (`ancestor_levels`), so most roots come with
the deal itself; `child_accounts_query` reads every account with a parent in one query,
for runs large enough that the whole forest costs fewer calls than per-page look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from simple_salesforce.format import format_soql

from sfsync.config import Settings
from sfsync.sync.salesforce.errors import SalesforceConfigError
from sfsync.sync.salesforce.ids import normalize_id

__all__ = [
    "IN_LIST_MAX_CHARS",
    "MAX_PATH_NAMES",
    "OPPORTUNITY_IN_LIST_MAX_CHARS",
    "QueryRules",
    "account_query",
    "accounts_by_ids_query",
    "ancestor_levels",
    "child_accounts_query",
    "children_query",
    "chunk_ids",
    "counted_ids_query",
    "opportunity_by_ids_query",
    "opportunity_filter_check_query",
    "opportunity_query",
    "opportunity_states_query",
    "organization_currency_query",
    "validate_identifier",
    "won_count_query",
    "won_on_accounts_query",
    "won_opportunity_ids_query",
]

# A query travels in the URL of a GET; ~16,000 characters is the safe total. URL-encoded, an
# 18-character id in an IN-list takes 27 (quotes and comma are escaped): 11,500 characters of
# list (~540 ids) come to ~14,800 in the URL, leaving room for the SELECT list around it. The
# widest, the opportunity fields with three ancestor levels and two alias fields, takes ~800.
IN_LIST_MAX_CHARS = 11_500

# "No more than five levels can be specified in a child-to-parent relationship", and Salesforce
# counts Contact.Account.Owner.FirstName as three: a path written from the FROM object holds at
# most five names (Account.Parent.Parent.Parent.Name). A deeper one is a malformed query that
# fails the whole poll, not an empty value.
MAX_PATH_NAMES = 5

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")


def chunk_ids(ids: Iterable[str], max_chars: int = IN_LIST_MAX_CHARS) -> Iterator[list[str]]:
    """Split ids (normalised, de-duplicated, order kept) into IN-lists of at most `max_chars`."""
    chunk: list[str] = []
    size = 2  # the parentheses
    seen: set[str] = set()
    for raw in ids:
        record_id = normalize_id(raw)
        if record_id in seen:
            continue
        seen.add(record_id)
        cost = len(record_id) + 3  # quotes and comma
        if chunk and size + cost > max_chars:
            yield chunk
            chunk, size = [], 2
        chunk.append(record_id)
        size += cost
    if chunk:
        yield chunk


# --- identifiers -----------------------------------------------------------------------------


def validate_identifier(name: str, setting: str, *, read_as: str = "") -> str:
    """`name` if it is a SOQL field path (letters, digits, underscores, dots) that stays within
    `MAX_PATH_NAMES` when selected as `read_as` + `name`; else a config error naming `setting`."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise SalesforceConfigError(
            f"{setting}: {name!r} is not a Salesforce field name "
            "(letters, digits, underscores, dots)"
        )
    path = read_as + name
    if _names(path) > MAX_PATH_NAMES:
        raise SalesforceConfigError(
            f"{setting}: {name!r} is selected as {path}, a path of {_names(path)} names; "
            f"SOQL allows at most {MAX_PATH_NAMES}"
        )
    return name


def _names(path: str) -> int:
    return path.count(".") + 1


@dataclass(frozen=True)
class QueryRules:
    """What the queries need of the settings, field names validated (see `of`)."""

    #: SFSYNC_SF_ALIAS_FIELDS, read on Account (and through an opportunity's Account).
    alias_fields: tuple[str, ...]
    #: The Opportunity fields the contract terms are read from: start, then end and term
    #: when set.
    contract_fields: tuple[str, ...]
    #: SFSYNC_ALIAS_INCLUDE_SUBORGS: the opportunity query selects the account's ancestors.
    include_suborgs: bool
    #: The org is multi-currency (detected, or SFSYNC_SF_MULTI_CURRENCY): the opportunity
    #: query selects CurrencyIsoCode. None: not asked (account queries select no currency).
    multi_currency: bool | None
    #: SFSYNC_SF_OPPORTUNITY_FILTER: operator-written SOQL, proved by the org, not here.
    opportunity_filter: str | None
    #: SFSYNC_FIELD_COPIES: fields read for custom field copies, as the opportunity reads them.
    copy_fields: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings, multi_currency: bool | None = None) -> QueryRules:
        """The rules of these settings and the org's answer to whether it is multi-currency
        (`sync.salesforce.describe.org_multi_currency`; SFSYNC_SF_MULTI_CURRENCY overrides
        it); `SalesforceConfigError` naming the setting of a field name that is not a SOQL
        identifier, or that SOQL cannot select that deep."""
        alias_fields = _alias_fields(settings)
        contract_fields = _contract_fields(settings)
        override = settings.sf_multi_currency
        currency = override if override is not None else multi_currency
        return cls(
            alias_fields=alias_fields,
            contract_fields=contract_fields,
            include_suborgs=settings.alias_include_suborgs,
            multi_currency=currency,
            opportunity_filter=settings.sf_opportunity_filter,
            copy_fields=tuple(
                validate_identifier(c.path, "SFSYNC_FIELD_COPIES") for c in settings.field_copies
            ),
        )


def _alias_fields(settings: Settings) -> tuple[str, ...]:
    # The opportunity query reads them through its account, so that name counts too.
    return tuple(
        validate_identifier(name, "SFSYNC_SF_ALIAS_FIELDS", read_as="Account.")
        for name in settings.sf_alias_fields
    )


def _contract_fields(settings: Settings) -> tuple[str, ...]:
    fields = [validate_identifier(settings.contract_start_field, "SFSYNC_CONTRACT_START_FIELD")]
    if settings.contract_end_field:
        fields.append(validate_identifier(settings.contract_end_field, "SFSYNC_CONTRACT_END_FIELD"))
    if settings.contract_term_field:
        fields.append(
            validate_identifier(settings.contract_term_field, "SFSYNC_CONTRACT_TERM_FIELD")
        )
    return tuple(fields)


def _select_list(fields: Iterable[str]) -> str:
    """Comma-joined fields, each once (SOQL rejects a duplicate field, case-insensitively)."""
    seen: set[str] = set()
    unique = []
    for field in fields:
        if _names(field) > MAX_PATH_NAMES:  # the builders' own arithmetic went wrong
            raise AssertionError(f"{field} is deeper than SOQL allows ({MAX_PATH_NAMES} names)")
        if field.lower() not in seen:
            seen.add(field.lower())
            unique.append(field)
    return ", ".join(unique)


def _utc(since: datetime) -> datetime:
    # format_soql would read a naive datetime as local time: refuse rather than guess.
    if since.utcoffset() is None:
        raise ValueError("a SOQL datetime must be timezone-aware (UTC)")
    return since.astimezone(UTC)


def _ids(ids: Iterable[str]) -> list[str]:
    chunks = list(chunk_ids(ids, max_chars=1 << 62))
    if not chunks:
        raise ValueError("an IN-list needs at least one id")
    return chunks[0]


# --- opportunities ---------------------------------------------------------------------------


def ancestor_levels(rules: QueryRules) -> int:
    """How many of an opportunity's account's ancestors its query can select (K).

    The deepest path is ``Account.Parent…Parent.<field>``: ``Account``, K ``Parent``s and
    the field's own names (one for ``Name``, two for an alias field ``Owner.Email``), all
    within `MAX_PATH_NAMES`; so K is 3 with plain fields. Ancestors beyond K are read by id.
    """
    deepest = max((_names(name) for name in rules.alias_fields), default=1)
    return max(0, MAX_PATH_NAMES - 1 - deepest)


def _opportunity_fields(rules: QueryRules) -> str:
    aliases = rules.alias_fields
    fields = ["Id", "Name", "AccountId", "Account.Name", "Account.ParentId"]
    fields += [f"Account.{name}" for name in aliases]
    if rules.include_suborgs:
        # The deal's account is mapped as its root: ancestors selected here cost no look-up.
        for level in range(1, ancestor_levels(rules) + 1):
            parent = "Account" + ".Parent" * level
            fields += [f"{parent}.Name", f"{parent}.ParentId"]
            fields += [f"{parent}.{name}" for name in aliases]
    fields += ["Amount", "CloseDate"]
    if rules.multi_currency is None:
        # Assuming either way breaks one kind of org: INVALID_FIELD, or no currency read.
        raise ValueError("opportunity queries need QueryRules.of(settings, org_multi_currency)")
    if rules.multi_currency:
        fields.append("CurrencyIsoCode")
    fields += rules.contract_fields
    fields += rules.copy_fields
    # Whether the deal still counts: a change to a deal that left Closed Won or was deleted
    # (queryAll) must reach its contract.
    fields += ["IsWon", "IsDeleted", "SystemModstamp"]
    return _select_list(fields)


def _won(rules: QueryRules) -> str:
    """The condition that makes a deal count: won, and SFSYNC_SF_OPPORTUNITY_FILTER if set
    (parenthesised, so an OR inside it cannot widen the IsWon test)."""
    condition = rules.opportunity_filter
    return "IsWon = true" if not condition else f"IsWon = true AND ({condition})"


def _changed(since: datetime | None, until: datetime | None) -> list[str]:
    """SOQL conditions for SystemModstamp in [since, until) (None: unbounded)."""
    conditions = []
    if since is not None:
        conditions.append(format_soql("SystemModstamp >= {}", _utc(since)))
    if until is not None:
        conditions.append(format_soql("SystemModstamp < {}", _utc(until)))
    return conditions


def opportunity_query(
    rules: QueryRules,
    since: datetime | None,
    *,
    until: datetime | None = None,
    won_only: bool | None = None,
) -> str:
    """Opportunities changed at or after `since` (None: all) and before `until` (None: no
    bound), in cursor order.

    `won_only` (default: when `since` is None, a backfill) reads the deals that count only
    (won, and matching SFSYNC_SF_OPPORTUNITY_FILTER); otherwise every change is read, won or
    not, for queryAll to include deleted ones too, and `counted_ids_query` tells which of
    the won ones the filter keeps.
    """
    select = _opportunity_fields(rules)
    won_only = since is None if won_only is None else won_only
    conditions = [_won(rules)] if won_only else []
    conditions += _changed(since, until)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return format_soql(
        "SELECT {:literal} FROM Opportunity{:literal} ORDER BY SystemModstamp, Id", select, where
    )


def won_count_query(rules: QueryRules) -> str:
    """How many deals count (won, and matching SFSYNC_SF_OPPORTUNITY_FILTER): a first sync's
    size, in one call that returns no records."""
    return format_soql("SELECT COUNT() FROM Opportunity WHERE {:literal}", _won(rules))


def opportunity_filter_check_query(rules: QueryRules) -> str:
    """One row at most of the deals that count: proves SFSYNC_SF_OPPORTUNITY_FILTER parses."""
    return format_soql("SELECT Id FROM Opportunity WHERE {:literal} LIMIT 1", _won(rules))


#: The IN-list budget of `opportunity_by_ids_query`: its SELECT list (ancestor levels, alias
#: and contract fields) is the widest, so its lists are kept shorter than IN_LIST_MAX_CHARS.
OPPORTUNITY_IN_LIST_MAX_CHARS = 8_000


def opportunity_by_ids_query(rules: QueryRules, ids: Sequence[str]) -> str:
    """Closed-won opportunities by id (one chunk of OPPORTUNITY_IN_LIST_MAX_CHARS), same fields
    as the stream."""
    return format_soql(
        "SELECT {:literal} FROM Opportunity WHERE {:literal} AND Id IN {} "
        "ORDER BY SystemModstamp, Id",
        _opportunity_fields(rules),
        _won(rules),
        _ids(ids),
    )


def won_on_accounts_query(rules: QueryRules, accounts: Sequence[str]) -> str:
    """Closed-won opportunities on these accounts (one chunk of OPPORTUNITY_IN_LIST_MAX_CHARS),
    same fields as the stream."""
    return format_soql(
        "SELECT {:literal} FROM Opportunity WHERE {:literal} AND AccountId IN {} "
        "ORDER BY SystemModstamp, Id",
        _opportunity_fields(rules),
        _won(rules),
        _ids(accounts),
    )


def won_opportunity_ids_query(rules: QueryRules) -> str:
    """Every non-deleted opportunity that counts: Id and SystemModstamp only (reconciliation)."""
    return format_soql(
        "SELECT Id, SystemModstamp FROM Opportunity WHERE {:literal} ORDER BY Id", _won(rules)
    )


def counted_ids_query(rules: QueryRules, ids: Sequence[str]) -> str:
    """Which of these opportunities count (won and matching SFSYNC_SF_OPPORTUNITY_FILTER):
    SOQL cannot select a condition, so a filtered run asks (one `chunk_ids` chunk)."""
    return format_soql(
        "SELECT Id FROM Opportunity WHERE {:literal} AND Id IN {}", _won(rules), _ids(ids)
    )


def opportunity_states_query(ids: Sequence[str]) -> str:
    """Whether these opportunities count (one `chunk_ids` chunk; read through queryAll)."""
    return format_soql(
        "SELECT Id, IsWon, IsDeleted, SystemModstamp FROM Opportunity WHERE Id IN {} ORDER BY Id",
        _ids(ids),
    )


# --- accounts --------------------------------------------------------------------------------


def _account_fields(rules: QueryRules, *, modstamp: bool) -> str:
    fields = ["Id", "Name", "ParentId", *rules.alias_fields]
    if modstamp:
        fields.append("SystemModstamp")
    return _select_list(fields)


def organization_currency_query() -> str:
    """The org's default currency (single-currency orgs have no CurrencyIsoCode on records)."""
    return "SELECT DefaultCurrencyIsoCode FROM Organization LIMIT 1"


def account_query(
    rules: QueryRules, since: datetime | None, *, until: datetime | None = None
) -> str:
    """Accounts changed at or after `since` (and before `until`), in cursor order; read
    through queryAll, so accounts merged away (IsDeleted, MasterRecordId) come too."""
    select = _select_list([_account_fields(rules, modstamp=True), "IsDeleted", "MasterRecordId"])
    conditions = _changed(since, until)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return format_soql(
        "SELECT {:literal} FROM Account{:literal} ORDER BY SystemModstamp, Id", select, where
    )


def children_query(rules: QueryRules, parent_ids: Sequence[str]) -> str:
    """Direct children of the given accounts (one `chunk_ids` chunk)."""
    return format_soql(
        "SELECT {:literal} FROM Account WHERE ParentId IN {} ORDER BY Id",
        _account_fields(rules, modstamp=False),
        _ids(parent_ids),
    )


def child_accounts_query(rules: QueryRules) -> str:
    """Every account that has a parent: with the roots, that is every hierarchy of the org."""
    return format_soql(
        "SELECT {:literal} FROM Account WHERE ParentId != null ORDER BY Id",
        _account_fields(rules, modstamp=False),
    )


def accounts_by_ids_query(rules: QueryRules, ids: Sequence[str]) -> str:
    """Accounts by id (one `chunk_ids` chunk)."""
    return format_soql(
        "SELECT {:literal} FROM Account WHERE Id IN {} ORDER BY Id",
        _account_fields(rules, modstamp=True),
        _ids(ids),
    )
