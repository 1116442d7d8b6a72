"""The account stream: names and ingest aliases of provisioned customers follow Salesforce.

Runs through `sync.runner` (its own lease, cursor and run records). For each page of
changed accounts, the customers whose tree the page touches are found: a customer whose
account (`sfdc_account_id`) is one of the page's accounts or their ancestors, and a
customer holding a Salesforce-sourced alias that comes from one of the page's accounts (a
child that may have left its tree). Each is renamed when its own account was renamed, and
its alias set is computed exactly as the closed-won mapping does (the customer's account
plus every descendant, `sync.mapping.account_alias_origins`) and applied by
`sync.merges`: new aliases attached, aliases of accounts that moved into the tree moved
(usage follows, the move recorded), customers whose account now sits inside the tree merged
into it (an acquisition), and Salesforce-sourced aliases the tree no longer yields released
(a child detached: its usage pending again, or its own customer's). Manual aliases are
never touched; an alias held by another customer for any other reason is a dead letter
naming both customers. Accounts in no customer's tree are counted as seen and skipped.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import AliasConflict, Entity, Store, StoreError
from sfsync.models.aliases.lookups import AliasOrigin, holders_by_account
from sfsync.models.contracts.revisions import Change
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for, find_many_by_field
from sfsync.models.customers.records import rename_customer
from sfsync.models.customers.retirement import (
    active_among,
    active_customer,
    merge_family,
    revive_customer,
    survivors,
)
from sfsync.models.operations.deadletters import add_letter, resolve_open_for
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource, Stream
from sfsync.sync.account_letters import (
    AccountConflict,
    account_of,
    conflict_letter,
    conflict_message,
    malformed_letter,
    node_payload,
)
from sfsync.sync.account_pages import parse_accounts, read_accounts, root_of
from sfsync.sync.claims import Owner, plan_owner
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping import MappingRules, account_alias_origins
from sfsync.sync.merges import (
    absorb_merged_account,
    claim_tree,
    overflow_letter,
    release_outside,
)
from sfsync.sync.moved_accounts import (
    left_their_holders,
    misplaced_deals,
    moved_deals,
    moved_trees,
    through_chains,
)
from sfsync.sync.opportunities import MappedPage, apply_mapped
from sfsync.sync.provision import own_state
from sfsync.sync.runner import Records, RunOptions, RunResult, StreamSpec, run_stream
from sfsync.sync.salesforce import (
    AccountNode,
    QueryRules,
    SalesforceClient,
    account_query,
    fetch_ancestors,
    fetch_descendants,
    strip_attributes,
    valid_id,
)

__all__ = ["ACCOUNT_MOVED", "AccountPage", "apply_accounts", "poll_accounts", "prepare_accounts"]

#: The cause of contract revisions made because a deal's account left its tree.
ACCOUNT_MOVED = Change("account moved")
#: Why the account stream changes a contract outside a run (a replayed letter).
ACCOUNT_STREAM = Change("account stream")


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
    moved_deals: Sequence[Mapping[str, Any]] = ()
    moved_mapped: MappedPage | None = None
    #: merged-away losers' records (their own alias values go to the master's customer).
    losers: Mapping[str, AccountNode] = field(default_factory=dict)


@dataclass
class _CustomerUpdate:
    """What applying one customer's trees changed, and the conflicts it found."""

    renamed: bool = False
    added: int = 0
    merged: int = 0
    overflow: bool = False
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # source account → messages


def prepare_accounts(
    store: Store,
    client: SalesforceClient,
    rules: QueryRules,
    records: Records,
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
    nodes, merged, deleted, losers = parse_accounts(records, rules)
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


def apply_accounts(
    session: Session,
    records: Records,
    page: AccountPage,
    settings: Settings,
    counters: RunCounters,
    change: Change = ACCOUNT_STREAM,
) -> None:
    """Rename and re-alias each customer whose tree the page touches; dead-letter conflicts.

    Claims first for every customer (so an alias moving between two of them is recorded as
    one move), and the deals of accounts that moved provisioned for their new root's
    customer, then releases what each tree no longer yields. A root whose customer was
    merged into one whose account is no longer in its tree gets it back (`plan_owner`).
    Contract moves are revisions with `change`'s run.
    """
    counters.records_seen += len(records)
    payloads: dict[str, dict[str, Any]] = {}
    for rec in records:
        account = valid_id(rec.get("Id"))
        if account in page.merges or account in page.deleted:
            continue
        if account is None or account not in page.nodes:
            counters.dead_lettered += 1
            add_letter(session, malformed_letter(rec))
        else:
            payloads[account] = strip_attributes(rec)
    rules = MappingRules.of(settings)
    counters.customers_updated += _apply_merges(session, page, rules, change)
    # Re-read in the transaction: a customer deleted or archived since `prepare_accounts`
    # is skipped.
    wanted = [*page.trees, *(a for nested in page.nested.values() for a in nested)]
    customers = find_many_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, wanted)
    for owner in page.trees:
        # An acquisition undone (or its survivor's account merged away): the root's own
        # customer takes its tree again.
        held_tree = {owner, *(n.id for n in page.trees[owner])}
        if (
            owner in customers
            and owner in page.accounts
            and plan_owner(held_tree, own_state(session, customers[owner])).how is Owner.REVIVE
        ):
            revive_customer(session, customers[owner])
    heads = survivors(session, customers.values())
    active = active_among(session, heads.values())
    lettered: set[str] = set()
    clean: set[str] = set()
    released: list[tuple[uuid.UUID, str, dict[str, AliasOrigin], list[str]]] = []
    overflowing: set[str] = set()
    groups: dict[uuid.UUID, list[str]] = {}
    for owner in page.trees:
        customer_id = customers.get(owner)
        head = heads.get(customer_id) if customer_id is not None else None
        if head is not None and head in active:
            groups.setdefault(head, []).append(owner)
    for customer_id, owners in groups.items():
        own = account_of(session, customer_id)
        owners.sort(key=lambda o: o != own)  # the customer's own tree first
        trees = [[page.accounts[o], *page.trees[o]] for o in owners]
        nested = [customers[a] for o in owners for a in page.nested.get(o, ()) if a in customers]
        try:
            with session.begin_nested():
                outcome, origins = _update_customer(
                    session, customer_id, trees, nested, page, rules, own, change
                )
            accounts = [n.id for tree in trees for n in tree]
            clean.update(accounts)
            released.append((customer_id, owners[0], origins, accounts))
            if outcome.overflow:
                overflowing.add(owners[0])
        except AccountConflict as exc:
            # Nothing of this customer is applied (savepoint); the others go on.
            outcome = _CustomerUpdate(conflicts={exc.account: [exc.message]})
        except (MappingError, StoreError) as exc:
            message = getattr(exc, "reason", None) or str(exc)
            outcome = _CustomerUpdate(conflicts={owners[0]: [message]})
        counters.customers_updated += outcome.renamed + outcome.merged
        counters.aliases_added += outcome.added
        for account, messages in outcome.conflicts.items():
            node = next(n for tree in trees for n in tree if n.id == account)
            payload = payloads.get(account) or node_payload(node)
            add_letter(session, conflict_letter(account, payload, messages))
            counters.dead_lettered += 1
            lettered.add(account)
    if page.moved_deals and page.moved_mapped is not None:
        # After the claims, before the releases: a deal on an account that left its tree is
        # provisioned for the customer of the account's root now (its contract moves, with a
        # revision), as the deals' own stream would if it read the deal again; that customer
        # claims the account's aliases (and what came to it through merges) from the old one.
        provisioned = RunCounters()
        moved = replace(change, cause=ACCOUNT_MOVED.cause)
        mapped = misplaced_deals(session, page.moved_mapped)
        apply_mapped(session, page.moved_deals, mapped, settings, provisioned, moved)
        provisioned.records_seen = 0  # the account stream counts accounts
        counters.add(provisioned)
        # A root that got its customer just now (an acquired root's deals are its own)
        # takes the values of a loser merged into its tree in this window too.
        counters.customers_updated += _apply_merges(session, page, rules, change)
        # Their customers release what their trees no longer yield too (a customer created
        # or absorbing here takes every alias of the absorbed one, a detached child's too).
        listed = {r[0]: r[2] for r in released}
        for customer_id, (root, origins) in moved_trees(session, mapped).items():
            if customer_id in listed:
                listed[customer_id].update((a, o) for a, o in origins.items())
            else:
                released.append((customer_id, root, origins, []))
    for customer_id, _, origins, _ in released:
        with session.begin_nested():
            release_outside(session, customer_id, origins)
    for customer_id, root, origins, tree_ids in released:
        if root not in overflowing:
            continue
        # Releasing may have made room: claim again, and letter what still does not fit.
        with session.begin_nested():
            claim = claim_tree(session, customer_id, origins, tree_ids)
        counters.aliases_added += len(claim.added) + len(claim.moved)
        if claim.overflow:
            add_letter(session, overflow_letter(customer_id, root, claim.overflow, len(origins)))
            counters.dead_lettered += 1
            lettered.add(root)
    for account in sorted(clean - lettered):
        resolve_open_for(session, DeadLetterSource.ACCOUNT, account)


def _apply_merges(session: Session, page: AccountPage, rules: MappingRules, change: Change) -> int:
    """Apply the page's Salesforce merges (idempotent); how many customers were merged."""
    merged = 0
    for loser, (master, root) in page.merges.items():
        node = page.losers.get(loser)
        loser_aliases = (
            account_alias_origins(node.id, node.alias_values, (), rules, node.alias_fields)
            if node is not None
            else {}
        )
        master_tree = [n.id for n in page.trees.get(root, ())]
        with session.begin_nested():
            merged += absorb_merged_account(
                session,
                loser,
                master,
                root,
                page.accounts[root].name,
                master_tree,
                loser_aliases,
                change,
            )
    return merged


def _update_customer(
    session: Session,
    customer_id: uuid.UUID,
    trees: Sequence[Sequence[AccountNode]],
    nested: Sequence[uuid.UUID],
    page: AccountPage,
    rules: MappingRules,
    own_account: str | None,
    change: Change,
) -> tuple[_CustomerUpdate, dict[str, AliasOrigin]]:
    """Apply a customer's trees: its own, and those of customers merged into it."""
    customer = active_customer(session, customer_id)
    outcome = _CustomerUpdate()
    origins: dict[str, AliasOrigin] = {}
    # The customer carries its own account's name: usually a tree's root, but an account
    # whose customer absorbed the customer of an account it was then moved under sits
    # inside that tree, and is still the one the customer is named after.
    own = next((n for tree in trees for n in tree if n.id == own_account), None)
    if own is not None and own.id in page.nodes:
        outcome.renamed = rename_customer(session, customer, own.name)
    for tree in trees:
        root, descendants = tree[0], tree[1:]
        # Same alias set as the closed-won mapping (the first tree's first on a clash).
        for alias, origin in account_alias_origins(
            root.id, root.alias_values, descendants, rules, root.alias_fields
        ).items():
            origins.setdefault(alias, origin)
    accounts = [n.id for tree in trees for n in tree]
    try:
        claim = claim_tree(session, customer_id, origins, accounts, nested, change)
    except AliasConflict as exc:
        # A refusal of the whole claim (e.g. an alias that is a customer's id): the letter
        # names the account whose field holds the alias, as a contested alias's does.
        held = origins.get(exc.alias)
        account = held.account_id if held is not None else trees[0][0].id
        raise AccountConflict(account, f"account {account}: {exc}") from exc
    outcome.added = len(claim.added) + len(claim.moved)
    outcome.merged = len(claim.merged)
    outcome.overflow = bool(claim.overflow)
    for contested in claim.conflicts:
        outcome.conflicts.setdefault(contested.account_id, []).append(
            conflict_message(session, contested, customer)
        )
    return outcome, origins


def poll_accounts(
    store: Store,
    client: SalesforceClient,
    settings: Settings,
    **options: Unpack[RunOptions],
) -> RunResult:
    """One run of the account stream."""
    # Built by the run's first query, inside the run: a bad field setting is its error.
    rules = functools.cache(lambda: QueryRules.of(settings))
    change = ACCOUNT_STREAM

    def started(run_id: int) -> None:
        nonlocal change
        change = Change(f"sync run {run_id}", run_id=run_id)

    spec: StreamSpec[AccountPage] = StreamSpec(
        stream=Stream.ACCOUNTS,
        on_start=started,
        query=lambda start, until: account_query(rules(), start, until=until),
        include_deleted=True,
        prepare=lambda records: prepare_accounts(store, client, rules(), records, settings),
        apply=lambda session, records, page, counters: apply_accounts(
            session, records, page, settings, counters, change
        ),
    )
    return run_stream(spec, store, client, settings, **options)
