"""Reading a page of the account stream before its transaction: live accounts,
merged-away losers, deleted ones, the top of each account's known hierarchy, and the
customers' trees the page touches (`prepare_accounts`, gathered into an `AccountPage`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sfsync.config import Settings
from sfsync.models import Entity, Store
from sfsync.models.aliases.lookups import holders_by_account
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for, find_many_by_field
from sfsync.models.customers.retirement import merge_family
from sfsync.sync.moved_accounts import left_their_holders, moved_deals, through_chains
from sfsync.sync.opportunities import MappedPage
from sfsync.sync.salesforce import (
    AccountNode,
    AccountRow,
    OpportunityRow,
    QueryRules,
    SalesforceClient,
    accounts_by_ids_query,
    chunk_ids,
    fetch_ancestors,
    fetch_descendants,
    node_from_record,
)

__all__ = ["AccountPage", "parse_accounts", "prepare_accounts", "read_accounts", "root_of"]


@dataclass(frozen=True)
class AccountPage:
    """What Salesforce and the store said about one page, gathered before its transaction."""

    #: page account id → its node (records that are not valid accounts are absent).
    nodes: Mapping[str, AccountNode] = field(default_factory=dict)
    #: every account known for this page: the page's and their ancestors.
    accounts: Mapping[str, AccountNode] = field(default_factory=dict)
    #: customer account id → its descendants, for each customer whose tree the page touches
    #: and whose account is not itself inside another such tree.
    trees: Mapping[str, Sequence[AccountNode]] = field(default_factory=dict)
    #: customer account id → accounts of customers nested in its tree (to merge into it).
    nested: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: account merged away in Salesforce → (its master, the master's root).
    merges: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: accounts deleted without a merge (seen, nothing to apply).
    deleted: frozenset[str] = frozenset()
    #: won deals on page accounts that left the tree of a customer holding their aliases
    #: (detached, re-parented), mapped: they are provisioned again after the aliases.
    moved_deals: Sequence[OpportunityRow] = ()
    moved_mapped: MappedPage | None = None
    #: merged-away losers' records (their own alias values go to the master's customer).
    losers: Mapping[str, AccountNode] = field(default_factory=dict)


def parse_accounts(
    rows: Sequence[AccountRow], rules: QueryRules
) -> tuple[dict[str, AccountNode], dict[str, str], set[str], dict[str, AccountNode]]:
    """(live accounts by id, merged-away loser → its master, other deleted account ids,
    merged-away losers' nodes)."""
    nodes: dict[str, AccountNode] = {}
    merged: dict[str, str] = {}
    deleted: set[str] = set()
    losers: dict[str, AccountNode] = {}
    for row in rows:
        try:
            node = node_from_record(row.record, rules)
        except (KeyError, ValueError):
            continue  # dead-lettered by `apply_accounts`
        if row.deleted:
            master = row.master
            if master is not None and master != node.id:
                merged[node.id] = master
                losers[node.id] = node
            else:
                deleted.add(node.id)
            continue
        nodes[node.id] = node
    return nodes, merged, deleted, losers


def root_of(account: str, accounts: Mapping[str, AccountNode]) -> str:
    """The highest ancestor of `account` that `accounts` knows (itself if none)."""
    seen = {account}
    current = account
    while (node := accounts.get(current)) is not None and node.parent_id is not None:
        if node.parent_id not in accounts:
            break
        current = node.parent_id
        if current in seen:
            break
        seen.add(current)
    return current


def read_accounts(
    client: SalesforceClient, rules: QueryRules, ids: Sequence[str]
) -> dict[str, AccountNode]:
    return {
        n.id: n
        for chunk in chunk_ids(ids)
        for page in client.query_pages(accounts_by_ids_query(rules, chunk))
        for n in (node_from_record(r, rules) for r in page)
    }


def prepare_accounts(
    store: Store,
    client: SalesforceClient,
    rules: QueryRules,
    rows: Sequence[AccountRow],
    settings: Settings | None = None,
) -> AccountPage:
    """Ancestors of the page's accounts, which customers they touch, and those trees.

    A page touches a customer whose account is one of the page's accounts or their
    ancestors, a customer that holds a Salesforce-sourced alias coming from one of the
    page's accounts (a child that may have left its tree), and, for an account merged away
    (deleted with `MasterRecordId`), the customer of its master's root. Salesforce calls:
    one per hierarchy level per chunk going up, the same going down, and only for
    customers' trees; the store is asked once. With `settings`, the won deals on accounts
    that left a customer's tree, and on every account below them, are read and mapped too
    (`sync.moved_accounts`), so that their contracts follow the accounts whatever the deals'
    own stream reads meanwhile.
    """
    nodes, merged, deleted, losers = parse_accounts(rows, rules)
    merged = through_chains(merged)
    accounts: dict[str, AccountNode] = dict(nodes)
    missing = [m for m in merged.values() if m not in accounts]
    if missing:
        accounts.update(read_accounts(client, rules, missing))
    if rules.include_suborgs:
        parents = {a: n.parent_id for a, n in accounts.items() if n.parent_id}
        chains = fetch_ancestors(client, rules, parents, known=accounts) if parents else {}
        for chain in chains.values():
            accounts.update((n.id, n) for n in chain if n.id not in accounts)
    merges = {
        loser: (master, root_of(master, accounts) if rules.include_suborgs else master)
        for loser, master in merged.items()
        if master in accounts
    }
    # A loser whose master is gone as well (merged or deleted before this page, the loser
    # read again in the lookback or a full run) was applied when its master was live, and
    # the master's own merge took its aliases on: nothing is left to apply.
    deleted |= {loser for loser in merged if loser not in merges}
    with store.reader() as s:  # runs in the look-ahead thread, beside the page being written
        owned = find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, list(accounts))
        holders_of = holders_by_account(s, [*nodes, *merged])
        holders = {c for held in holders_of.values() for c in held}
        # A customer merged into another hands its tree to the survivor, which then answers
        # for all the trees merged into it at once (else one would release the other's).
        family = merge_family(s, [*owned.values(), *holders])
        account_of = {
            c: values.get(SFDC_ACCOUNT_ID)
            for c, values in fields_for(s, Entity.CUSTOMER, family).items()
        }
    held_by = [account for account in account_of.values() if account is not None]
    left = (
        left_their_holders(
            {a: holders_of[a] for a in nodes if a in holders_of}, account_of, accounts, set(nodes)
        )
        if rules.include_suborgs
        else []
    )
    deals, deals_mapped = moved_deals(client, rules, settings, left)
    survivors = [root for _, root in merges.values()]
    owners = list(dict.fromkeys([*(a for a in accounts if a in owned), *held_by, *survivors]))
    if not (rules.include_suborgs and owners):
        trees: dict[str, Sequence[AccountNode]] = {owner: () for owner in owners}
        return AccountPage(
            nodes,
            accounts,
            trees,
            merges=merges,
            deleted=frozenset(deleted),
            moved_deals=deals,
            moved_mapped=deals_mapped,
            losers=losers,
        )
    missing = [o for o in owners if o not in accounts]
    if missing:
        accounts.update(read_accounts(client, rules, missing))
    trees = dict(fetch_descendants(client, rules, [o for o in owners if o in accounts]))
    inside = {o: [p for p in trees if p != o and o in {n.id for n in trees[p]}] for o in trees}
    tops = {o: d for o, d in trees.items() if not inside[o]}
    nested = {top: [o for o in trees if o != top and top in inside[o]] for top in tops}
    return AccountPage(
        nodes, accounts, tops, nested, merges, frozenset(deleted), deals, deals_mapped, losers
    )
