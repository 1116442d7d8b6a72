"""Salesforce's hierarchy applied to a customer's aliases: claimed, moved, merged, released.

A customer's account tree `T` (its root account and every descendant, as Salesforce has it
now) yields a set of aliases, each with its origin (`models.aliases.AliasOrigin`). Claiming
them (`claim_tree`) applies what `sync.claims.plan_claim` decides for each one by where it
is held (an acquisition's contract moves are revisions, cause `acquired: account ID`):

- nowhere: attached with its origin;
- by the customer itself: kept (a Salesforce-sourced one records its current origin);
- by another customer, Salesforce-sourced from an account of `T`:
  - whose own account is in `T` (a root with its own customer became part of this tree: an
    acquisition): that customer is merged into this one (`models.customers.retirement`);
  - otherwise the account left the holder's tree for this one (re-parented, or detached
    into a tree of its own): the alias moves, its usage follows, the move is recorded;
- anything else (a manual alias, or a value another account outside `T` also yields): a
  conflict for an operator, returned to the caller, never a silent move.

Releasing (`release_outside`) removes the customer's Salesforce-sourced aliases `T` no
longer yields (a child detached): their usage becomes pending, or goes to the account's
own customer when that one claims them. Manual aliases are never added, moved or removed.

A Salesforce merge (`absorb_merged_account`: the loser deleted with `MasterRecordId`) moves
the loser's customer into the customer of the master's root (created if that tree had
none), and every Salesforce-sourced alias that came from the loser with it: the loser no
longer exists, so those aliases are recorded as coming from the master through the merge
(field `MasterRecordId`) and are part of whichever tree holds the master: claiming a tree
takes them with the master's own (re-parented: they move; detached into a tree of its own
customer: that customer takes them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from sfsync.models import Entity
from sfsync.models.aliases.bulk import alias_counts
from sfsync.models.aliases.lookups import (
    AliasOrigin,
    alias_owners,
    alias_rows,
    external_aliases_from,
    external_aliases_of,
    external_aliases_through,
    origin_of,
)
from sfsync.models.aliases.moves import record_moves, released_from
from sfsync.models.aliases.ownership import add_aliases, move_alias, remove_aliases, set_origins
from sfsync.models.contracts.revisions import Change
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for, find_by_field
from sfsync.models.customers.retirement import Merged, merge_customers
from sfsync.models.operations.deadletters import Failure
from sfsync.models.tables import MAX_ALIASES_PER_CUSTOMER
from sfsync.models.types import AliasMoveReason, DeadLetterSource
from sfsync.sync.claims import (
    MERGED_FIELD,
    ClaimPlan,
    Contested,
    Held,
    plan_claim,
    plan_loser_values,
    plan_release,
    tree_origins,
)
from sfsync.sync.errors import AliasOverflow
from sfsync.sync.owners import find_or_create_customer

__all__ = [
    "Claim",
    "absorb_merged_account",
    "claim_tree",
    "overflow_letter",
    "release_outside",
]


@dataclass
class Claim:
    """What claiming a tree's aliases did."""

    added: list[str] = field(default_factory=list)
    moved: dict[str, uuid.UUID] = field(default_factory=dict)  # alias → previous holder
    merged: list[Merged] = field(default_factory=list)
    conflicts: list[Contested] = field(default_factory=list)
    #: aliases of the tree that did not fit in the customer's limit, with their origins.
    overflow: dict[str, AliasOrigin] = field(default_factory=dict)


#: The cause of changes a claim makes when its caller gives none.
CLAIMED = Change("sync")


def acquired(change: Change, account: str | None) -> Change:
    """Why an acquisition moves contracts: `acquired`, the absorbed account, the run."""
    return replace(change, cause=f"acquired: account {account}")


def _plan(
    session: Session,
    customer_id: uuid.UUID,
    origins: Mapping[str, AliasOrigin],
    accounts: set[str],
    nested: tuple[uuid.UUID, ...],
) -> ClaimPlan:
    rows = alias_rows(session, origins)
    held = {a: Held(r.customer_id, origin_of(r)) for a, r in rows.items()}
    others = {r.customer_id for r in rows.values() if r.customer_id != customer_id}
    holder_accounts = {
        h: values.get(SFDC_ACCOUNT_ID)
        for h, values in fields_for(session, Entity.CUSTOMER, {*others, *nested}).items()
    }
    room = MAX_ALIASES_PER_CUSTOMER - alias_counts(session, [customer_id]).get(customer_id, 0)
    return plan_claim(customer_id, accounts, origins, held, holder_accounts, room, nested)


def claim_tree(
    session: Session,
    customer_id: uuid.UUID,
    origins: Mapping[str, AliasOrigin],
    tree: Iterable[str],
    nested: Iterable[uuid.UUID] = (),
    change: Change = CLAIMED,
) -> Claim:
    """Give the customer the aliases of its tree (`sync.claims.plan_claim` decides).

    `tree` is every account of the customer's tree; `nested` names customers known to sit
    inside it (their own account is in the tree), merged into this one first, each of their
    contracts with a `moved` revision (`acquired`, the account, `change`'s run). The caller
    holds the customer's lock and runs this in a savepoint.
    """
    accounts = set(tree)
    origins = tree_origins(origins, external_aliases_through(session, accounts, MERGED_FIELD))
    claim = Claim()
    plan = _plan(session, customer_id, origins, accounts, tuple(dict.fromkeys(nested)))
    if plan.absorb:
        account_of = {
            c: values.get(SFDC_ACCOUNT_ID)
            for c, values in fields_for(session, Entity.CUSTOMER, plan.absorb).items()
        }
        for absorbed in plan.absorb:
            why = acquired(change, account_of.get(absorbed))
            if (merged := merge_customers(session, absorbed, customer_id, why)) is not None:
                claim.merged.append(merged)
        # What the merges brought is the customer's now: plan again from the store.
        plan = _plan(session, customer_id, origins, accounts, ())
    claim.conflicts = list(plan.conflicts)
    claim.overflow = dict(plan.overflow)
    claim.added = add_aliases(session, customer_id, list(plan.add), origins)
    for alias in plan.move:
        move_alias(session, alias, customer_id, origins[alias])
    claim.moved = dict(plan.move)
    record_moves(
        session,
        {a: (h, customer_id, origins[a].account_id) for a, h in plan.move.items()},
        AliasMoveReason.REPARENTED,
    )
    set_origins(session, plan.resource)
    return claim


def release_outside(
    session: Session, customer_id: uuid.UUID, origins: Mapping[str, AliasOrigin]
) -> list[str]:
    """Remove the customer's Salesforce-sourced aliases its tree no longer yields."""
    gone = plan_release(external_aliases_of(session, customer_id), origins)
    if not gone:
        return []
    remove_aliases(session, customer_id, list(gone))
    record_moves(
        session,
        {a: (customer_id, None, o.account_id) for a, o in gone.items()},
        AliasMoveReason.DETACHED,
    )
    return list(gone)


def absorb_merged_account(
    session: Session,
    loser: str,
    master: str,
    root: str,
    root_name: str,
    tree: Iterable[str] = (),
    loser_aliases: Mapping[str, AliasOrigin] | None = None,
    change: Change = CLAIMED,
) -> bool:
    """Apply a Salesforce merge of account `loser` into `master` (whose root is `root`, whose
    tree is `tree`).

    The loser's customer merges into the customer of the master's tree (`plan_owner`: a
    root whose own customer was merged into the loser's is revived), its contracts each with
    a `moved` revision; every alias from the loser follows. A loser without a customer gives
    the master's customer, when its tree has one, the aliases its record yields
    (`loser_aliases`) that nobody holds and none released since (`plan_loser_values`). All
    are recorded as coming from the master through the merge; one the loser's record no
    longer yields is released. Returns whether a customer was merged. Idempotent: a merge
    read again finds nothing left.
    """
    absorbed = find_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, loser)
    rows = external_aliases_from(session, loser)
    values = list(loser_aliases or {})
    has_owner = find_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, root) is not None
    unheld = plan_loser_values(
        values,
        set(alias_rows(session, values)),
        released_from(session, values, loser),
        has_owner or absorbed is not None or bool(rows),
    )
    if absorbed is None and not rows and not unheld:
        return False
    survivor = find_or_create_customer(
        session, root, root_name, {root, *tree}, may_revive=True
    ).customer
    why = replace(change, cause=f"merged: account {loser} into {master}")
    merged = merge_customers(session, absorbed, survivor.id, why) if absorbed else None
    through_merge = AliasOrigin(master, MERGED_FIELD)
    rows = external_aliases_from(session, loser)
    # Their holders as they are now (the merge just moved some; loaded rows may be stale).
    owners = alias_owners(session, list(rows))
    if loser_aliases is not None:
        # A value the loser's record no longer yields (edited before the merge) is released.
        stale = {
            a: owners[a]
            for a, r in rows.items()
            if a not in loser_aliases and r.source_field != MERGED_FIELD and a in owners
        }
        for alias, holder in stale.items():
            remove_aliases(session, holder, [alias])
        record_moves(
            session,
            {a: (holder, None, loser) for a, holder in stale.items()},
            AliasMoveReason.DETACHED,
        )
        rows = {a: r for a, r in rows.items() if a not in stale}
    moves = {a: (owners.get(a), survivor.id, loser) for a in rows}
    for alias in rows:
        if owners.get(alias) != survivor.id:
            move_alias(session, alias, survivor.id, through_merge)
    set_origins(session, dict.fromkeys(rows, through_merge))
    record_moves(
        session,
        {a: m for a, m in moves.items() if m[0] != survivor.id},
        AliasMoveReason.MERGED,
    )
    if unheld:
        add_aliases(session, survivor.id, unheld, dict.fromkeys(unheld, through_merge))
    return merged is not None


def overflow_letter(
    customer_id: uuid.UUID, root: str, overflow: Mapping[str, AliasOrigin], total: int
) -> Failure:
    """One letter for the aliases of a tree that did not fit: how many, which accounts.

    Its reference is the root account, so a replay re-applies the account stream to it.
    """
    accounts = list(dict.fromkeys(o.account_id for o in overflow.values()))
    shown = ", ".join(accounts[:10]) + (
        f" and {len(accounts) - 10} more" if len(accounts) > 10 else ""
    )
    error = AliasOverflow(
        f"account {root}'s hierarchy yields {total} ingest aliases but customer {customer_id} "
        f"can hold {MAX_ALIASES_PER_CUSTOMER}: {len(overflow)} were not attached, from "
        f"{len(accounts)} account(s): {shown}. Trim the hierarchy or SFSYNC_SF_ALIAS_FIELDS "
        "(or remove manual aliases), then replay this letter"
    )
    return Failure(
        source=DeadLetterSource.ACCOUNT,
        reference=root,
        payload={
            "Id": root,
            "customer_id": str(customer_id),
            "aliases_not_attached": len(overflow),
            "accounts": accounts,
        },
        error_class=type(error).__name__,
        error_message=str(error),
    )
