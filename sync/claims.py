"""Who owns a tree's aliases and contracts: pure decisions over the accounts as they now stand.

Two planners, each frozen values in and a frozen plan out, applied by `sync.merges`,
`sync.provision`, `sync.provision_batch` and `sync.accounts`:

- `plan_owner`: which customer takes the contracts and aliases of a tree whose root is
  `root`. The root's own customer when it is active; none yet: one is created; merged into
  a survivor whose account is in the tree (the root absorbed it, then was moved under it):
  that survivor; merged into a survivor whose account is *not* in the tree (an acquisition
  detached again, or the survivor's own account merged away into this root): the root's
  customer is revived, so every root with a customer has exactly one active customer that
  holds its tree; archived by hand: refused (`OwnerArchived`).
- `plan_claim`: what giving a customer its tree's aliases moves. Each alias the tree yields
  (merges followed to the surviving master: what came to an account through a Salesforce
  merge is the tree's too) is decided by where it is held:

  - nowhere: added;
  - by the customer: kept (its recorded origin brought up to date);
  - by a customer whose own account is in the tree (an acquisition): that customer is
    absorbed (merged in: its contracts move, each with a revision) and the alias comes
    with it;
  - Salesforce-sourced from an account of the tree, by anyone else: moved (the account
    left the holder's tree);
  - anything else: contested, for an operator.

  What does not fit in the customer's room is the plan's overflow, in the tree's order.
- `plan_loser_values`: which id and alias values of a merged-away loser without a customer
  its master's customer is given: those nobody holds, unless one was released from the
  master since (its tree had no customer): the loser no longer exists to yield it again,
  so a loser read again later gives nothing back.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from sfsync.models.aliases.lookups import AliasOrigin

__all__ = [
    "ClaimPlan",
    "Contested",
    "Held",
    "OwnState",
    "Owner",
    "OwnerPlan",
    "plan_claim",
    "plan_loser_values",
    "plan_owner",
]


class Owner(enum.StrEnum):
    """How a tree's root gets the customer that owns the tree."""

    CREATE = "create"
    USE = "use"
    SURVIVOR = "survivor"
    REVIVE = "revive"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class OwnState:
    """The root's own customer as the store holds it."""

    customer_id: uuid.UUID
    active: bool
    #: the customer it was merged into (None: not merged; archived by hand if not active).
    merged_into: uuid.UUID | None = None
    #: that survivor's own account, and whether the survivor is active.
    survivor_account: str | None = None
    survivor_active: bool = True


@dataclass(frozen=True)
class OwnerPlan:
    how: Owner
    #: the customer that owns the tree (None: one is to be created).
    customer_id: uuid.UUID | None


def plan_owner(tree: Set[str], own: OwnState | None, *, may_revive: bool = True) -> OwnerPlan:
    """Which customer owns the tree whose root's own customer is `own` (see the docstring).

    Only a caller that read the hierarchy itself just now may revive (`may_revive`): a deal
    mapped before an acquisition is provisioned after it with its old root, and must land
    on the survivor; the account stream, which sees the root as it stands, revives it.
    """
    if own is None:
        return OwnerPlan(Owner.CREATE, None)
    if own.active:
        return OwnerPlan(Owner.USE, own.customer_id)
    if own.merged_into is None:
        return OwnerPlan(Owner.ARCHIVED, own.customer_id)
    if own.survivor_account is not None and own.survivor_account in tree:
        if not own.survivor_active:
            return OwnerPlan(Owner.ARCHIVED, own.merged_into)
        return OwnerPlan(Owner.SURVIVOR, own.merged_into)
    if not may_revive:
        how = Owner.SURVIVOR if own.survivor_active else Owner.ARCHIVED
        return OwnerPlan(how, own.merged_into)
    return OwnerPlan(Owner.REVIVE, own.customer_id)


@dataclass(frozen=True)
class Held:
    """An alias's current holder and the origin it records (None: manual)."""

    holder: uuid.UUID
    origin: AliasOrigin | None


@dataclass(frozen=True)
class Contested:
    """An alias the tree yields that another customer holds for another reason."""

    alias: str
    #: the account of the tree the alias comes from.
    account_id: str
    holder_id: uuid.UUID
    holder_account: str | None


K = TypeVar("K")
V = TypeVar("V")


def _frozen(values: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class ClaimPlan:
    """What claiming a tree's aliases for a customer does."""

    #: customers whose own account is in the tree: merged into the claiming customer first.
    absorb: tuple[uuid.UUID, ...] = ()
    add: tuple[str, ...] = ()
    #: alias → its previous holder (a move recorded as `reparented`).
    move: Mapping[str, uuid.UUID] = field(default_factory=lambda: _frozen({}))
    #: aliases kept whose recorded origin changes.
    resource: Mapping[str, AliasOrigin] = field(default_factory=lambda: _frozen({}))
    conflicts: tuple[Contested, ...] = ()
    #: aliases that did not fit, with their origins.
    overflow: Mapping[str, AliasOrigin] = field(default_factory=lambda: _frozen({}))


def plan_claim(
    customer_id: uuid.UUID,
    tree: Set[str],
    origins: Mapping[str, AliasOrigin],
    held: Mapping[str, Held],
    holder_accounts: Mapping[uuid.UUID, str | None],
    room: int,
    nested: tuple[uuid.UUID, ...] = (),
) -> ClaimPlan:
    """The moves that give `customer_id` the aliases `origins` of its `tree` (docstring).

    `held` is the current holder of each alias that has one, `holder_accounts` each other
    holder's own account, `room` how many more aliases the customer can take once the
    absorbed customers' Salesforce-sourced aliases are counted; `nested` names customers
    known to sit inside the tree (absorbed first).
    """
    absorbed = [
        *nested,
        *(h for h, account in holder_accounts.items() if account is not None and account in tree),
    ]
    absorb = tuple(dict.fromkeys(c for c in absorbed if c != customer_id))
    ours = {customer_id, *absorb}
    add: list[str] = []
    move: dict[str, uuid.UUID] = {}
    resource: dict[str, AliasOrigin] = {}
    conflicts: list[Contested] = []
    for alias, origin in origins.items():
        row = held.get(alias)
        if row is None:
            add.append(alias)
        elif row.holder in ours and (row.holder == customer_id or row.origin is not None):
            if row.origin != origin:
                resource[alias] = origin
        elif row.origin is not None and row.origin.account_id in tree:
            move[alias] = row.holder
        else:
            conflicts.append(
                Contested(alias, origin.account_id, row.holder, holder_accounts.get(row.holder))
            )
    # What fits is taken in the tree's order (the root's own first); the rest is overflow.
    adding = set(add)
    new = [a for a in origins if a in move or a in adding]
    fits = set(new[: max(0, room)])
    return ClaimPlan(
        absorb=absorb,
        add=tuple(a for a in add if a in fits),
        move=_frozen({a: h for a, h in move.items() if a in fits}),
        resource=_frozen(resource),
        conflicts=tuple(conflicts),
        overflow=_frozen({a: origins[a] for a in new if a not in fits}),
    )


def plan_loser_values(
    values: Iterable[str], held: Set[str], released: Set[str], has_customer: bool
) -> tuple[str, ...]:
    """The values of a merged-away loser its master's customer takes (see the docstring):
    none while the master's tree has no customer, else those neither held nor released."""
    if not has_customer:
        return ()
    return tuple(v for v in dict.fromkeys(values) if v not in held and v not in released)
