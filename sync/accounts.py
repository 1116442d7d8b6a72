"""Account changes applied: names and ingest aliases of provisioned customers follow Salesforce.

What a page of the account stream (`sync.streams.accounts`) does. For each page of
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

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import AliasConflict, Entity, StoreError
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.contracts.revisions import Change
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_many_by_field
from sfsync.models.customers.records import rename_customer
from sfsync.models.customers.retirement import (
    active_among,
    active_customer,
    revive_customer,
    survivors,
)
from sfsync.models.operations.deadletters import add_letter, resolve_open_for
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import DeadLetterSource
from sfsync.sync.account_letters import (
    AccountConflict,
    account_of,
    conflict_letter,
    conflict_message,
    malformed_letter,
    node_payload,
)
from sfsync.sync.account_pages import AccountPage
from sfsync.sync.alias_mapping import account_alias_origins
from sfsync.sync.claims import Owner, plan_owner
from sfsync.sync.errors import MappingError
from sfsync.sync.mapping_rules import MappingRules
from sfsync.sync.merges import (
    absorb_merged_account,
    claim_tree,
    overflow_letter,
    release_outside,
)
from sfsync.sync.moved_accounts import (
    misplaced_deals,
    moved_trees,
)
from sfsync.sync.opportunities import apply_mapped
from sfsync.sync.owners import own_state
from sfsync.sync.salesforce import (
    AccountNode,
    AccountRow,
    strip_attributes,
)

__all__ = ["ACCOUNT_MOVED", "ACCOUNT_STREAM", "apply_accounts"]

#: The cause of contract revisions made because a deal's account left its tree.
ACCOUNT_MOVED = Change("account moved")
#: Why the account stream changes a contract outside a run (a replayed letter).
ACCOUNT_STREAM = Change("account stream")


@dataclass
class _CustomerUpdate:
    """What applying one customer's trees changed, and the conflicts it found."""

    renamed: bool = False
    added: int = 0
    merged: int = 0
    overflow: bool = False
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # source account → messages


def apply_accounts(
    session: Session,
    rows: Sequence[AccountRow],
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
    counters.records_seen += len(rows)
    payloads: dict[str, dict[str, Any]] = {}
    for row in rows:
        account = row.id
        if account in page.merges or account in page.deleted:
            continue
        if account is None or account not in page.nodes:
            counters.dead_lettered += 1
            add_letter(session, malformed_letter(row))
        else:
            payloads[account] = strip_attributes(row.record)
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
