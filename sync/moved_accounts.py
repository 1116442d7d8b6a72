"""Accounts that moved since a customer's aliases were taken from them, and what follows.

Two facts the account stream needs beside the trees themselves:

- a chain of Salesforce merges (A into B, then B into C) ends at its last master, which
  takes every loser's aliases (`through_chains`);
- an account whose aliases a customer holds, but whose ancestors no longer include that
  customer's account, left its tree (detached or re-parented): its won deals, and those
  below it, belong to the customer of its new root now, as the deals' own stream would find
  if it read them again (`left_their_holders`, `moved_deals`). Reading them here makes the
  outcome the same however long ago the deals were won. Of those, the ones whose contract
  is not under their root's customer yet are provisioned (`misplaced_deals`), and the
  customers that take them release what their trees no longer yield (`moved_trees`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import replace

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import Entity
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.contracts.bulk import contract_customers
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, find_many_by_field
from sfsync.models.customers.retirement import survivors
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.opportunities import MappedPage, map_records
from sfsync.sync.opportunity_hierarchy import hierarchy_for
from sfsync.sync.salesforce import (
    OPPORTUNITY_IN_LIST_MAX_CHARS,
    AccountNode,
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    chunk_ids,
    fetch_descendants,
    org_multi_currency,
    won_on_accounts_query,
)

__all__ = [
    "left_their_holders",
    "lineage",
    "misplaced_deals",
    "moved_deals",
    "moved_trees",
    "through_chains",
]


def through_chains(merged: Mapping[str, str]) -> dict[str, str]:
    """Loser → the master at the end of its chain: merged into B, and B into C in turn, a
    loser's aliases go to C (B's merge moves B's own there too)."""
    out = {}
    for loser, first in merged.items():
        last, seen = first, {loser}
        while last in merged and last not in seen:
            seen.add(last)
            last = merged[last]
        out[loser] = last
    return out


def lineage(account: str, accounts: Mapping[str, AccountNode]) -> set[str]:
    """The account and every ancestor `accounts` knows."""
    chain = {account}
    current = accounts.get(account)
    while current is not None and current.parent_id is not None:
        if current.parent_id in chain:
            break
        chain.add(current.parent_id)
        current = accounts.get(current.parent_id)
    return chain


def left_their_holders(
    holders_of: Mapping[str, Set[uuid.UUID]],
    account_of: Mapping[uuid.UUID, str | None],
    accounts: Mapping[str, AccountNode],
    changed: Set[str] = frozenset(),
) -> list[str]:
    """Accounts (keys of `holders_of`: account → customers holding its aliases) whose won
    deals may sit under another customer than their root's now:

    - held by a customer whose own account (`account_of`) is no longer among their
      ancestors: detached or re-parented since;
    - a `changed` account: its aliases may have moved already (a deal won in the same
      window on its new tree claimed them, or created its own customer when it was
      detached) while its contracts did not, or it is a root with its own customer acquired
      by a root without one (whose customer its deals now create).

    (A customer that absorbed the account's old root answers too, as does one `account_of`
    does not know; re-provisioning deals already in place changes nothing.)"""
    return sorted(
        account
        for account, held in holders_of.items()
        if any(account_of.get(c) not in lineage(account, accounts) for c in held)
        or account in changed
    )


def moved_deals(
    client: SalesforceClient, rules: QueryRules, settings: Settings | None, left: Sequence[str]
) -> tuple[list[OpportunityRow], MappedPage | None]:
    """The won deals on accounts that left a customer's tree and on every account below them,
    mapped: one query per level of the subtrees, then one per chunk of their accounts."""
    if settings is None or not left:
        return [], None
    if rules.multi_currency is None:  # the account stream's rules: its queries select none
        rules = replace(rules, multi_currency=org_multi_currency(client))
    below = fetch_descendants(client, rules, left)
    accounts = [*left, *(node.id for nodes in below.values() for node in nodes)]
    rows = [
        OpportunityRow.of(record)
        for chunk in chunk_ids(accounts, max_chars=OPPORTUNITY_IN_LIST_MAX_CHARS)
        for record in client.query_all(won_on_accounts_query(rules, chunk))
    ]
    if not rows:
        return [], None
    hierarchy = hierarchy_for(client, settings, rules, rows)
    return rows, map_records(rows, hierarchy, MappingRules.of(settings))


def misplaced_deals(session: Session, mapped: MappedPage) -> MappedPage:
    """The moved deals whose contract is not under their root's customer already (the others
    would change nothing, or letter again a conflict the account's own letter names)."""
    items = mapped.items
    held = contract_customers(session, SFDC_OPPORTUNITY_ID, [i.deal.opportunity_id for i in items])
    roots = find_many_by_field(
        session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list({i.deal.account_id for i in items})
    )
    heads = survivors(session, roots.values())
    placed = {root: heads.get(c) for root, c in roots.items()}
    return MappedPage(
        [
            i
            for i in items
            if held.get(i.deal.opportunity_id) is None
            or held[i.deal.opportunity_id] != placed.get(i.deal.account_id)
        ],
        mapped.failures,
    )


def moved_trees(
    session: Session, mapped: MappedPage
) -> dict[uuid.UUID, tuple[str, dict[str, AliasOrigin]]]:
    """The customers that took moved deals: each with its root and the aliases of its tree."""
    trees: dict[str, dict[str, AliasOrigin]] = {}
    for item in mapped.items:
        trees.setdefault(item.deal.account_id, {}).update(item.deal.origins())
    owned = find_many_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list(trees))
    heads = survivors(session, owned.values())
    return {heads[c]: (root, trees[root]) for root, c in owned.items() if c in heads}
