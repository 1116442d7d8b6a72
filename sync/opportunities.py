"""The closed-won stream: each closed-won opportunity becomes a customer and a contract.

Runs through `sync.runner` (lease, cursor, run record); this module says what a page is:
the opportunities' account hierarchies are fetched in batches before the page's
transaction, then each record is mapped and provisioned, or dead-lettered with its reason.

Hierarchy roll-up: with SFSYNC_ALIAS_INCLUDE_SUBORGS on, an enterprise with
sub-organisations is one customer, so a deal on any account of a hierarchy belongs to the
hierarchy's root (ultimate parent): the record is mapped as if its account were the root,
and the root's aliases include every sub-organisation. With it off, every account is its
own customer.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Entity, Store, StoreError
from sfsync.models.aliases.lookups import alias_owners
from sfsync.models.contracts.bulk import contract_customers
from sfsync.models.contracts.records import any_contracts
from sfsync.models.contracts.revisions import SYNC, Change
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, find_many_by_field
from sfsync.models.operations.deadletters import Failure, add_letter, resolve_open_for
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, Stream
from sfsync.sync.errors import MappingError
from sfsync.sync.field_copies import apply_field_copies, copied_values
from sfsync.sync.lifecycle import GoneDeal, apply_gone, counts, gone_deals, unchanged_deals
from sfsync.sync.mapping import AliasMemo, MappingRules, map_opportunity
from sfsync.sync.provision import provision_deal, refresh_contract
from sfsync.sync.provision_batch import BatchItem, provision_batch
from sfsync.sync.runner import RunOptions, RunResult, StreamSpec, run_stream
from sfsync.sync.salesforce import (
    OPPORTUNITY_IN_LIST_MAX_CHARS,
    AccountNode,
    HierarchyCache,
    QueryRules,
    SalesforceClient,
    SalesforcePermanentError,
    check_opportunity_filter,
    chunk_ids,
    counted_ids,
    normalize_id,
    opportunity_by_ids_query,
    opportunity_query,
    org_multi_currency,
    organization_currency_query,
    record_value,
    strip_attributes,
    valid_id,
)

#: Accounts whose aliases a run keeps (see `apply_records`); bounded for flat memory.
ALIAS_MEMO_MAX = 50_000

__all__ = [
    "MappedPage",
    "OrgCurrency",
    "PageHierarchy",
    "RunResult",
    "apply_mapped",
    "apply_records",
    "hierarchy_for",
    "map_records",
    "poll_opportunities",
    "provision_opportunities",
    "record_as_root",
]


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
    record: Mapping[str, Any], root: AccountNode | None, rules: MappingRules
) -> Mapping[str, Any]:
    """The opportunity record as if its account were `root` (None: the record unchanged).

    Rewrites AccountId, Account.Name, Account.ParentId and the alias fields; the caller keeps
    the original for dead-letter payloads. `AccountNode` keeps only the non-empty alias
    values, in field order, so they fill the first alias fields: the mapping concatenates
    the non-empty values in field order, so the aliases come out the same.
    """
    if root is None:
        return record
    account = record.get("Account")
    rewritten: dict[str, Any] = dict(account) if isinstance(account, Mapping) else {}
    rewritten["Name"] = root.name
    rewritten["ParentId"] = root.parent_id
    if len(root.alias_fields) == len(root.alias_values):
        # Each value back in its own field, so the aliases' origins name the right field.
        by_field = dict(zip(root.alias_fields, root.alias_values, strict=True))
        for name in rules.alias_fields:
            rewritten = _with_path(rewritten, name, by_field.get(name))
        return {**record, "AccountId": root.id, "Account": rewritten}
    values = iter(root.alias_values)
    for name in rules.alias_fields:
        rewritten = _with_path(rewritten, name, next(values, None))
    return {**record, "AccountId": root.id, "Account": rewritten}


def _opportunity_failure(record: Mapping[str, Any], exc: Exception) -> Failure:
    opportunity_id = record.get("Id")
    return Failure(
        source=DeadLetterSource.OPPORTUNITY,
        reference=str(opportunity_id) if opportunity_id else None,
        payload=strip_attributes(record),
        error_class=type(exc).__name__,
        error_message=getattr(exc, "reason", None) or str(exc),
    )


def _deal(
    index: int,
    rec: Mapping[str, Any],
    hierarchy: PageHierarchy,
    rules: MappingRules,
    memo: AliasMemo,
) -> BatchItem:
    """The record mapped to a deal of its account's root (see the module docstring)."""
    raw_id = rec.get("Id")
    # A rolled-up sub-organisation's fields are not its customer's (`sync.field_copies`).
    own = not (rules.include_suborgs and valid_id(record_value(rec, "Account.ParentId")))
    copies = copied_values(rec, rules.copies, own_account=own) if rules.copies else ()
    if valid_id(raw_id) in hierarchy.known:
        # Already provisioned under its account's customer: only the contract can change.
        deal = map_opportunity(rec, rules, alias_memo=memo, org_currency=hierarchy.org_currency)
        return BatchItem(index, replace(deal, field_copies=copies), keep_customer=True)
    account = valid_id(rec.get("AccountId"))
    root = hierarchy.roots.get(account) if account else None
    owner = root.id if root is not None else account
    descendants = hierarchy.descendants.get(owner, ()) if owner else ()
    deal = map_opportunity(
        record_as_root(rec, root, rules),
        rules,
        descendants,
        alias_memo=memo,
        org_currency=hierarchy.org_currency,
    )
    return BatchItem(index, replace(deal, field_copies=copies))


@dataclass(frozen=True)
class OpportunityPage:
    """A page of the stream prepared for its transaction: the deals (won, not deleted),
    mapped, and the held deals that stopped counting."""

    live: Sequence[Mapping[str, Any]]
    mapped: MappedPage
    gone: Sequence[GoneDeal]
    size: int


@dataclass(frozen=True)
class MappedPage:
    """A page mapped to deals: pure work, done before (and beside) the page's transaction."""

    items: Sequence[BatchItem]
    #: (index in the page, why) for each record that could not be mapped.
    failures: Sequence[tuple[int, MappingError]]


def map_records(
    records: Sequence[Mapping[str, Any]],
    hierarchy: PageHierarchy,
    rules: MappingRules,
    alias_memo: AliasMemo | None = None,
) -> MappedPage:
    """Each record mapped to a deal of its account's root, or the reason it cannot be.

    `alias_memo` carries the accounts' aliases from page to page of a run (an account's
    deals are spread over the whole backfill); without it they are kept for this page.
    """
    items: list[BatchItem] = []
    failures: list[tuple[int, MappingError]] = []
    memo: AliasMemo = alias_memo if alias_memo is not None else {}
    if len(memo) > ALIAS_MEMO_MAX:
        memo.clear()
    for index, rec in enumerate(records):
        try:
            items.append(_deal(index, rec, hierarchy, rules, memo))
        except MappingError as exc:
            failures.append((index, exc))
    return MappedPage(items, failures)


def apply_records(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    hierarchy: PageHierarchy,
    settings: Settings,
    counters: RunCounters,
    change: Change = SYNC,
    *,
    accept_change: bool = False,
) -> None:
    """Map the records, then provision or dead-letter each (see `apply_mapped`)."""
    mapped = map_records(records, hierarchy, MappingRules.of(settings))
    apply_mapped(session, records, mapped, settings, counters, change, accept_change=accept_change)


def apply_mapped(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    mapped: MappedPage,
    settings: Settings,
    counters: RunCounters,
    change: Change = SYNC,
    *,
    accept_change: bool = False,
) -> None:
    """Provision or dead-letter each record of a mapped page (a bad one never stops the rest).

    Deals go through the set-based fast path (`sync.provision_batch`); those it hands back
    (invalid, contested, raced) are provisioned one by one, each in its own savepoint, and
    dead-lettered with their reason when they fail. Contract changes get revisions with
    `change`'s cause and run; `accept_change` lets a currency change or a moved start on a
    started contract through (an operator's replay), which is otherwise dead-lettered.
    """
    counters.records_seen += len(records)
    for index, exc in mapped.failures:
        add_letter(session, _opportunity_failure(records[index], exc))
        counters.dead_lettered += 1
    items = mapped.items
    fallback: Sequence[BatchItem] = items
    if not accept_change:
        outcome = provision_batch(session, items, settings, change)
        counters.add(outcome.counters)
        fallback = outcome.fallback
    provisioned: list[str] = []
    handed_back = {item.index for item in fallback}
    copies = {
        i.deal.opportunity_id: i.deal.field_copies for i in items if i.index not in handed_back
    }
    for item in fallback:
        rec, deal = records[item.index], item.deal
        deal_change = replace(change, source_version=deal.system_modstamp)
        try:
            result = (
                refresh_contract(session, deal, change=deal_change, accept_change=accept_change)
                if item.keep_customer
                else provision_deal(
                    session, deal, settings, change=deal_change, accept_change=accept_change
                )
            )
        except StoreError as exc:
            add_letter(session, _opportunity_failure(rec, exc))
            counters.dead_lettered += 1
            continue
        provisioned.append(deal.opportunity_id)
        copies[deal.opportunity_id] = deal.field_copies
        counters.customers_created += result.customer_created
        counters.customers_updated += result.customer_renamed
        counters.aliases_added += result.aliases_added
        counters.contracts_created += result.contract == "created"
        counters.contracts_updated += result.contract == "updated"
        counters.contracts_unchanged += result.contract == "unchanged"
    for opportunity_id in provisioned:
        resolve_open_for(session, DeadLetterSource.OPPORTUNITY, opportunity_id)
    refused = apply_field_copies(session, copies)
    if refused:
        by_id = {i.deal.opportunity_id: records[i.index] for i in items}
        for opportunity_id, why in refused.items():
            add_letter(session, _opportunity_failure(by_id[opportunity_id], why))
            counters.dead_lettered += 1


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
    records: Iterable[Mapping[str, Any]],
    cache: HierarchyCache | None = None,
    known: frozenset[str] = frozenset(),
    currency: OrgCurrency | None = None,
) -> PageHierarchy:
    """Roots of the page's accounts, then the roots' descendants, for accounts not already read
    in this run (`cache`): ancestors the records carry cost nothing, the rest one query per
    level per chunk each way, or nothing beyond the cache's one scan of the forest. Records
    the store already holds (`known`) and records without a valid AccountId (dead-lettered
    later) need none. `currency` reads the org's currency if a record needs it."""
    records = list(records)
    org_currency = (currency or OrgCurrency()).for_page(client, settings, records)
    if not settings.alias_include_suborgs:
        return PageHierarchy(known=known, org_currency=org_currency)
    cache = cache if cache is not None else HierarchyCache()
    accounts: list[str] = []
    parents: dict[str, str] = {}
    page_nodes: dict[str, AccountNode] = {}
    for rec in records:
        account = valid_id(rec.get("AccountId"))
        if account is None or valid_id(rec.get("Id")) in known:
            continue
        accounts.append(account)
        page_nodes.update((node.id, node) for node in _page_nodes(rec, account, settings))
        parent = valid_id(record_value(rec, "Account.ParentId"))
        if parent is not None:
            parents[account] = parent
    roots = cache.roots(client, rules, parents, page_nodes) if parents else {}
    owners = [roots[a].id if a in roots else a for a in accounts]
    descendants = cache.descendants(client, rules, owners) if owners else {}
    return PageHierarchy(
        roots=roots, descendants=descendants, known=known, org_currency=org_currency
    )


def _known(store: Store, records: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Opportunities the store holds under the customer of their account (by its
    sfdc_account_id, or by the account id as an alias of the enterprise customer)."""
    pairs = [(valid_id(r.get("Id")), valid_id(r.get("AccountId"))) for r in records]
    wanted = [(o, a) for o, a in pairs if o is not None and a is not None]
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


def poll_opportunities(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    *,
    cache: HierarchyCache | None = None,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of the closed-won stream.

    `cache` holds the run's hierarchies (default: a new `HierarchyCache`); give each run its
    own, e.g. one with ``scan=False`` to stay on IN-list look-ups.
    """
    hierarchies = cache if cache is not None else HierarchyCache()
    mapping = MappingRules.of(settings)
    alias_memo: AliasMemo = {}
    change = Change("sync")
    org_currency = OrgCurrency()  # read once per run, if at all
    # Built by the run's preflight, inside the run: a bad field setting is its error.
    rules = functools.cache(lambda: QueryRules.of(settings, org_multi_currency(client)))

    def started(run_id: int) -> None:
        nonlocal change
        change = Change(f"sync run {run_id}", run_id=run_id)

    with store.reader() as s:
        # Only a store that holds deals needs to see deals that left Closed Won (a full
        # re-read included); an empty one reads the won ones only.
        won_only = not any_contracts(s)

    def prepare(records: Sequence[Mapping[str, Any]]) -> OpportunityPage:
        # In the runner's look-ahead thread: Salesforce look-ups and mapping overlap the
        # previous page's transaction. Records that are not deals cost one store look-up.
        live = [r for r in records if counts(r)]
        rest = [r for r in records if not counts(r)]
        if live and not won_only and settings.sf_opportunity_filter:
            # Asking Salesforce which won rows the filter keeps costs a call: not for rows
            # re-read in the lookback that their contract was written from already.
            with store.reader() as s:
                same = unchanged_deals(s, live)
            live = [r for r in live if valid_id(r.get("Id")) not in same]
            kept = counted_ids(client, rules(), [str(r["Id"]) for r in live]) if live else set()
            rest += [r for r in live if normalize_id(str(r["Id"])) not in kept]
            live = [r for r in live if normalize_id(str(r["Id"])) in kept]
        gone: list[GoneDeal] = []
        if rest:
            with store.reader() as s:
                gone = gone_deals(s, rest)
        if settings.alias_include_suborgs:
            # The first page's total sizes the run, which decides between scan and IN-lists.
            hierarchies.start_page(records)
        hierarchy = hierarchy_for(
            client, settings, rules(), live, hierarchies, _known(store, live), org_currency
        )
        mapped = map_records(live, hierarchy, mapping, alias_memo)
        return OpportunityPage(live, mapped, gone, len(records))

    def apply(
        session: Session,
        records: Sequence[Mapping[str, Any]],
        page: OpportunityPage,
        counters: RunCounters,
    ) -> None:
        apply_mapped(session, page.live, page.mapped, settings, counters, change)
        counters.records_seen += page.size - len(page.live)
        apply_gone(session, page.gone, change, counters)

    spec: StreamSpec[OpportunityPage] = StreamSpec(
        stream=Stream.OPPORTUNITIES,
        query=lambda start, until: opportunity_query(
            rules(), start, until=until, won_only=won_only
        ),
        prepare=prepare,
        apply=apply,
        on_start=started,
        include_deleted=True,
        preflight=lambda: check_opportunity_filter(client, rules()),
    )
    return run_stream(spec, store, client, settings, **options)


def provision_opportunities(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    ids: Sequence[str],
    *,
    cause: str = "provisioned by id",
    accept_change: bool = False,
    run_id: int | None = None,
) -> RunCounters:
    """Fetch these opportunities by id and provision the closed-won ones now.

    An id that is not visible or not closed-won is dead-lettered with that reason;
    `accept_change` applies a change the lifecycle rules leave to an operator.
    """
    rules = QueryRules.of(settings, org_multi_currency(client))
    check_opportunity_filter(client, rules)
    counted = settings.sf_opportunity_filter is not None
    wanted = [normalize_id(i) for i in ids]
    client.refresh_budget()
    records = [
        record
        for chunk in chunk_ids(wanted, max_chars=OPPORTUNITY_IN_LIST_MAX_CHARS)
        for record in client.query_all(opportunity_by_ids_query(rules, chunk))
    ]
    found = {normalize_id(str(r["Id"])) for r in records}
    hierarchy = hierarchy_for(client, settings, rules, records)
    counters = RunCounters()
    with store.session() as s:
        apply_records(
            s,
            records,
            hierarchy,
            settings,
            counters,
            Change(cause, run_id=run_id),
            accept_change=accept_change,
        )
        for missing in (i for i in wanted if i not in found):
            counters.dead_lettered += 1
            add_letter(
                s,
                Failure(
                    source=DeadLetterSource.OPPORTUNITY,
                    reference=missing,
                    error_class="OpportunityNotFound",
                    error_message=(
                        f"opportunity {missing} is not closed-won"
                        f"{', does not match SFSYNC_SF_OPPORTUNITY_FILTER' if counted else ''}"
                        " or not visible to the integration user"
                    ),
                ),
            )
    return counters
