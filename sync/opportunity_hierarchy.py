"""An opportunity page's account hierarchies, read before the page's transaction.

With SFSYNC_ALIAS_INCLUDE_SUBORGS on, a deal on any account of a hierarchy belongs to the
hierarchy's root (ultimate parent): `hierarchy_for` finds each account's root and what each
root holds, and `record_as_root` rewrites a row as if its account were the root. The
org's default currency is read here too, at most once per run (`OrgCurrency`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import alias_owners
from sfsync.models.contracts.bulk import contract_customers
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, find_many_by_field
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.salesforce import (
    AccountNode,
    HierarchyCache,
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    SalesforcePermanentError,
    organization_currency_query,
    record_value,
    valid_id,
)

__all__ = ["OrgCurrency", "PageHierarchy", "hierarchy_for", "known_deals", "record_as_root"]


@dataclass(frozen=True)
class PageHierarchy:
    """The Salesforce look-ups of one page: each account's root, and what each root holds."""

    #: account id → root of its hierarchy, for accounts that have a parent.
    roots: Mapping[str, AccountNode] = field(default_factory=dict)
    #: root (or parentless account) id → its descendants, breadth-first.
    descendants: Mapping[str, Sequence[AccountNode]] = field(default_factory=dict)
    #: opportunity ids the store holds under their account's customer (no look-up needed).
    known: frozenset[str] = frozenset()
    #: the org's default currency, when a record of the page has no CurrencyIsoCode.
    org_currency: str | None = None


class OrgCurrency:
    """The org's default currency (Organization.DefaultCurrencyIsoCode), read at most once
    per run and only when a record has no CurrencyIsoCode and SFSYNC_DEFAULT_CURRENCY does
    not override it, so a multi-currency org never pays the call."""

    def __init__(self) -> None:
        self._read = False
        self._value: str | None = None

    def for_page(
        self, client: SalesforceClient, settings: Settings, records: Iterable[Mapping[str, Any]]
    ) -> str | None:
        if settings.default_currency is not None:
            return None
        if not self._read and any(not r.get("CurrencyIsoCode") for r in records):
            self._read = True
            try:
                rows = client.query_all(organization_currency_query())
            except SalesforcePermanentError:
                rows = []  # not readable: those records say so in their dead letters
            value = rows[0].get("DefaultCurrencyIsoCode") if rows else None
            self._value = value if isinstance(value, str) and value else None
        return self._value


def _with_path(mapping: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `mapping` with the dotted `path` set to `value` (nested mappings copied)."""
    head, _, rest = path.partition(".")
    out = dict(mapping)
    if rest:
        inner = out.get(head)
        out[head] = _with_path(inner if isinstance(inner, Mapping) else {}, rest, value)
    else:
        out[head] = value
    return out


def record_as_root(
    row: OpportunityRow, root: AccountNode | None, rules: MappingRules
) -> OpportunityRow:
    """The opportunity row as if its account were `root` (None: the row unchanged).

    Rewrites its account (and the record's AccountId), Account.Name, Account.ParentId and
    the alias fields; the caller keeps the original for dead-letter payloads.
    `AccountNode` keeps only the non-empty alias values, in field order, so they fill the
    first alias fields: the mapping concatenates the non-empty values in field order, so
    the aliases come out the same.
    """
    if root is None:
        return row
    record = row.record
    account = record.get("Account")
    rewritten: dict[str, Any] = dict(account) if isinstance(account, Mapping) else {}
    rewritten["Name"] = root.name
    rewritten["ParentId"] = root.parent_id
    if len(root.alias_fields) == len(root.alias_values):
        # Each value back in its own field, so the aliases' origins name the right field.
        by_field = dict(zip(root.alias_fields, root.alias_values, strict=True))
        for name in rules.alias_fields:
            rewritten = _with_path(rewritten, name, by_field.get(name))
    else:
        values = iter(root.alias_values)
        for name in rules.alias_fields:
            rewritten = _with_path(rewritten, name, next(values, None))
    as_root = {**record, "AccountId": root.id, "Account": rewritten}
    return replace(row, account=root.id, parent=root.parent_id, record=as_root)


def _page_nodes(rec: Mapping[str, Any], account: str, settings: Settings) -> list[AccountNode]:
    """The record's account and the ancestors selected with it (`Account.Parent…`, see
    `sync.salesforce.soql.ancestor_levels`) as hierarchy nodes, nearest first, so none of
    them is read again as someone's ancestor."""
    nodes: list[AccountNode] = []
    data = rec.get("Account")
    node_id: str | None = account
    # A null Parent under a ParentId is an ancestor the integration user cannot see; an
    # absent one is beyond the selected levels. Either way the chain here stops, and
    # `fetch_ancestors` reads (or fails to find) the parent by id, as without these fields.
    while isinstance(data, Mapping) and node_id is not None:
        pairs = [
            (name, str(value))
            for name in settings.sf_alias_fields
            if (value := record_value(data, name)) is not None
        ]
        parent = valid_id(data.get("ParentId"))
        nodes.append(
            AccountNode(
                id=node_id,
                name=str(data.get("Name") or ""),
                parent_id=parent,
                alias_values=tuple(v for _, v in pairs),
                alias_fields=tuple(n for n, _ in pairs),
            )
        )
        data, node_id = data.get("Parent"), parent
    return nodes


def hierarchy_for(
    client: SalesforceClient,
    settings: Settings,
    rules: QueryRules,
    rows: Iterable[OpportunityRow],
    cache: HierarchyCache | None = None,
    known: frozenset[str] = frozenset(),
    currency: OrgCurrency | None = None,
) -> PageHierarchy:
    """Roots of the page's accounts, then the roots' descendants, for accounts not already read
    in this run (`cache`): ancestors the records carry cost nothing, the rest one query per
    level per chunk each way, or nothing beyond the cache's one scan of the forest. Records
    the store already holds (`known`) and records without a valid AccountId (dead-lettered
    later) need none. `currency` reads the org's currency if a record needs it."""
    rows = list(rows)
    org_currency = (currency or OrgCurrency()).for_page(client, settings, (r.record for r in rows))
    if not settings.alias_include_suborgs:
        return PageHierarchy(known=known, org_currency=org_currency)
    cache = cache if cache is not None else HierarchyCache()
    accounts: list[str] = []
    parents: dict[str, str] = {}
    page_nodes: dict[str, AccountNode] = {}
    for row in rows:
        account = row.account
        if account is None or row.id in known:
            continue
        accounts.append(account)
        page_nodes.update((node.id, node) for node in _page_nodes(row.record, account, settings))
        parent = row.parent
        if parent is not None:
            parents[account] = parent
    roots = cache.roots(client, rules, parents, page_nodes) if parents else {}
    owners = [roots[a].id if a in roots else a for a in accounts]
    descendants = cache.descendants(client, rules, owners) if owners else {}
    return PageHierarchy(
        roots=roots, descendants=descendants, known=known, org_currency=org_currency
    )


def known_deals(store: Store, rows: Sequence[OpportunityRow]) -> frozenset[str]:
    """Opportunities the store holds under the customer of their account (by its
    sfdc_account_id, or by the account id as an alias of the enterprise customer)."""
    wanted = [(r.id, r.account) for r in rows if r.id is not None and r.account is not None]
    if not wanted:
        return frozenset()
    with store.reader() as s:  # runs in the look-ahead thread, beside the page being written
        owners = contract_customers(s, SFDC_OPPORTUNITY_ID, [o for o, _ in wanted])
        if not owners:
            return frozenset()
        accounts = [a for o, a in wanted if o in owners]
        holders = find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, accounts)
        aliases = alias_owners(s, accounts)
    return frozenset(
        o for o, a in wanted if o in owners and owners[o] in (holders.get(a), aliases.get(a))
    )
