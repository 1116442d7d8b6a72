"""Closed-won opportunities applied: each becomes a customer and a contract, or a letter.

What a page of the closed-won stream (`sync.streams.opportunities`) does, and provisioning
by id: the opportunities' account hierarchies are fetched in batches before the page's
transaction (`sync.opportunity_hierarchy`), then each record is mapped and provisioned, or
dead-lettered with its reason.

Hierarchy roll-up: with SFSYNC_ALIAS_INCLUDE_SUBORGS on, an enterprise with
sub-organisations is one customer, so a deal on any account of a hierarchy belongs to the
hierarchy's root (ultimate parent): the record is mapped as if its account were the root,
and the root's aliases include every sub-organisation. With it off, every account is its
own customer.

Errors::

    OpportunityNotFound   an id asked for is not closed-won, not visible, or filtered out
                          (the dead letter's error class)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Store, StoreError
from sfsync.models.contracts.revisions import SYNC, Change
from sfsync.models.operations.deadletters import Failure, add_letter, resolve_open_for
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource
from sfsync.sync.errors import MappingError
from sfsync.sync.field_copies import apply_field_copies, copied_values
from sfsync.sync.gone_deals import GoneDeal
from sfsync.sync.mapping import AliasMemo, map_opportunity
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.opportunity_hierarchy import PageHierarchy, hierarchy_for, record_as_root
from sfsync.sync.provision import provision_deal, refresh_contract
from sfsync.sync.provision_batch import BatchItem, provision_batch
from sfsync.sync.salesforce import (
    OPPORTUNITY_IN_LIST_MAX_CHARS,
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    check_opportunity_filter,
    chunk_ids,
    normalize_id,
    opportunity_by_ids_query,
    org_multi_currency,
    strip_attributes,
)

#: Accounts whose aliases a run keeps (see `map_records`); bounded for flat memory.
ALIAS_MEMO_MAX = 50_000

__all__ = [
    "MappedPage",
    "OpportunityNotFound",
    "OpportunityPage",
    "apply_mapped",
    "apply_records",
    "map_records",
    "provision_opportunities",
]


class OpportunityNotFound(Exception):
    """An opportunity asked for by id is not closed-won, not visible to the integration
    user, or not kept by SFSYNC_SF_OPPORTUNITY_FILTER."""


def _opportunity_failure(row: OpportunityRow, exc: Exception) -> Failure:
    return Failure(
        source=DeadLetterSource.OPPORTUNITY,
        reference=row.reference,
        payload=strip_attributes(row.record),
        error_class=type(exc).__name__,
        error_message=getattr(exc, "reason", None) or str(exc),
    )


def _deal(
    index: int,
    row: OpportunityRow,
    hierarchy: PageHierarchy,
    rules: MappingRules,
    memo: AliasMemo,
) -> BatchItem:
    """The row mapped to a deal of its account's root (see the module docstring)."""
    # A rolled-up sub-organisation's fields are not its customer's (`sync.field_copies`).
    own = not (rules.include_suborgs and row.parent)
    copies = copied_values(row.record, rules.copies, own_account=own) if rules.copies else ()
    if row.id in hierarchy.known:
        # Already provisioned under its account's customer: only the contract can change.
        deal = map_opportunity(row, rules, alias_memo=memo, org_currency=hierarchy.org_currency)
        return BatchItem(index, replace(deal, field_copies=copies), keep_customer=True)
    account = row.account
    root = hierarchy.roots.get(account) if account else None
    owner = root.id if root is not None else account
    descendants = hierarchy.descendants.get(owner, ()) if owner else ()
    deal = map_opportunity(
        record_as_root(row, root, rules),
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

    live: Sequence[OpportunityRow]
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
    rows: Sequence[OpportunityRow],
    hierarchy: PageHierarchy,
    rules: MappingRules,
    alias_memo: AliasMemo | None = None,
) -> MappedPage:
    """Each row mapped to a deal of its account's root, or the reason it cannot be.

    `alias_memo` carries the accounts' aliases from page to page of a run (an account's
    deals are spread over the whole backfill); without it they are kept for this page.
    """
    items: list[BatchItem] = []
    failures: list[tuple[int, MappingError]] = []
    memo: AliasMemo = alias_memo if alias_memo is not None else {}
    if len(memo) > ALIAS_MEMO_MAX:
        memo.clear()
    for index, row in enumerate(rows):
        try:
            items.append(_deal(index, row, hierarchy, rules, memo))
        except MappingError as exc:
            failures.append((index, exc))
    return MappedPage(items, failures)


def apply_records(
    session: Session,
    rows: Sequence[OpportunityRow],
    hierarchy: PageHierarchy,
    settings: Settings,
    counters: RunCounters,
    change: Change = SYNC,
    *,
    accept_change: bool = False,
) -> None:
    """Map the rows, then provision or dead-letter each (see `apply_mapped`)."""
    mapped = map_records(rows, hierarchy, MappingRules.of(settings))
    apply_mapped(session, rows, mapped, settings, counters, change, accept_change=accept_change)


def apply_mapped(
    session: Session,
    rows: Sequence[OpportunityRow],
    mapped: MappedPage,
    settings: Settings,
    counters: RunCounters,
    change: Change = SYNC,
    *,
    accept_change: bool = False,
) -> None:
    """Provision or dead-letter each row of a mapped page (a bad one never stops the rest).

    Deals go through the set-based fast path (`sync.provision_batch`); those it hands back
    (invalid, contested, raced) are provisioned one by one, each in its own savepoint, and
    dead-lettered with their reason when they fail. Contract changes get revisions with
    `change`'s cause and run; `accept_change` lets a currency change or a moved start on a
    started contract through (an operator's replay), which is otherwise dead-lettered.
    """
    counters.records_seen += len(rows)
    for index, exc in mapped.failures:
        add_letter(session, _opportunity_failure(rows[index], exc))
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
        row, deal = rows[item.index], item.deal
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
            add_letter(session, _opportunity_failure(row, exc))
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
        by_id = {i.deal.opportunity_id: rows[i.index] for i in items}
        for opportunity_id, why in refused.items():
            add_letter(session, _opportunity_failure(by_id[opportunity_id], why))
            counters.dead_lettered += 1


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
    rows = [
        OpportunityRow.of(record)
        for chunk in chunk_ids(wanted, max_chars=OPPORTUNITY_IN_LIST_MAX_CHARS)
        for record in client.query_all(opportunity_by_ids_query(rules, chunk))
    ]
    found = {r.id for r in rows}
    hierarchy = hierarchy_for(client, settings, rules, rows)
    counters = RunCounters()
    with store.session() as s:
        apply_records(
            s,
            rows,
            hierarchy,
            settings,
            counters,
            Change(cause, run_id=run_id),
            accept_change=accept_change,
        )
        for missing in (i for i in wanted if i not in found):
            counters.dead_lettered += 1
            exc = OpportunityNotFound(
                f"opportunity {missing} is not closed-won"
                f"{', does not match SFSYNC_SF_OPPORTUNITY_FILTER' if counted else ''}"
                " or not visible to the integration user"
            )
            add_letter(
                s,
                Failure(
                    source=DeadLetterSource.OPPORTUNITY,
                    reference=missing,
                    error_class=type(exc).__name__,
                    error_message=str(exc),
                ),
            )
    return counters
