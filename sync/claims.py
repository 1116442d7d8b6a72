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
  Aliases that came to an account of the tree through a Salesforce merge are the tree's too,
  after its own values (`tree_origins`).
- `plan_page`: `plan_claim` for each account of a page of deals, as the per-deal path would
  decide it, and which accounts the set-based path may take: those whose plan only adds
  aliases nobody holds and that want no alias another account of the page wants (the
  per-deal path orders those claims). The conflict rules live in `plan_claim` alone.
- `plan_release`: which of a customer's Salesforce-sourced aliases its tree no longer
  yields (a child detached), keeping those that came through a merge into an account
  still in the tree.
- `plan_loser_values`: which id and alias values of a merged-away loser without a customer
  its master's customer is given: those nobody holds, unless one was released from the
  master since (its tree had no customer): the loser no longer exists to yield it again,
  so a loser read again later gives nothing back.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from sfsync.models.aliases.lookups import AliasOrigin

__all__ = [
    "MERGED_FIELD",
    "AccountClaim",
    "ClaimPlan",
    "Contested",
    "Held",
    "OwnState",
    "Owner",
    "OwnerPlan",
    "PageClaims",
    "plan_claim",
    "plan_loser_values",
    "plan_owner",
    "plan_page",
    "plan_release",
    "tree_origins",
]

#: `AliasOrigin.field` of an alias that came to its account through a Salesforce merge.
MERGED_FIELD = "MasterRecordId"


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

    @property
    def adds_only(self) -> bool:
        """Whether the claim only adds aliases nobody holds (and keeps its own)."""
        return not (self.absorb or self.move or self.conflicts or self.overflow)


def tree_origins(
    origins: Mapping[str, AliasOrigin], through_merges: Mapping[str, AliasOrigin]
) -> Mapping[str, AliasOrigin]:
    """The aliases a tree yields: its accounts' own values, then those that came to its
    accounts through Salesforce merges (the losers no longer exist to yield them)."""
    return _frozen({**origins, **{a: o for a, o in through_merges.items() if a not in origins}})


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


@dataclass(frozen=True)
class AccountClaim:
    """One account of a page claiming the aliases of its tree for its customer."""

    account: str
    #: the account's customer (a new one: the id proposed for it).
    customer_id: uuid.UUID
    #: alias → origin, in the tree's order.
    origins: Mapping[str, AliasOrigin]
    #: how many more aliases the customer can take.
    room: int

    def __post_init__(self) -> None:
        # Frozen all the way down: the caller's dict cannot change a claim once made.
        object.__setattr__(self, "origins", _frozen(self.origins))


@dataclass(frozen=True)
class PageClaims:
    """The claims of a page's accounts (see the docstring)."""

    #: account → what claiming its aliases does.
    plans: Mapping[str, ClaimPlan]
    #: accounts the set-based path takes; every other one is the per-deal path's.
    fast: frozenset[str]


def plan_page(
    claims: Sequence[AccountClaim],
    held: Mapping[str, Held],
    holder_accounts: Mapping[uuid.UUID, str | None],
) -> PageClaims:
    """`plan_claim` for each account of `claims` (each once), over the same holders.

    An alias two accounts want is decided by the per-deal path, one deal after another in
    page order (the second sees the first's claim), so neither account is taken here.
    """
    wanted_by: dict[str, set[str]] = {}
    for claim in claims:
        for alias in claim.origins:
            wanted_by.setdefault(alias, set()).add(claim.account)
    shared = {a for a, accounts in wanted_by.items() if len(accounts) > 1}
    plans: dict[str, ClaimPlan] = {}
    fast: set[str] = set()
    for claim in claims:
        tree = {claim.account, *(o.account_id for o in claim.origins.values())}
        plan = plan_claim(claim.customer_id, tree, claim.origins, held, holder_accounts, claim.room)
        plans[claim.account] = plan
        if plan.adds_only and shared.isdisjoint(claim.origins):
            fast.add(claim.account)
    return PageClaims(_frozen(plans), frozenset(fast))


def plan_release(
    held: Mapping[str, AliasOrigin], origins: Mapping[str, AliasOrigin]
) -> Mapping[str, AliasOrigin]:
    """Of a customer's Salesforce-sourced aliases `held`, those its tree (yielding `origins`)
    no longer yields; one that came through a merge into an account of the tree stays."""
    tree = {o.account_id for o in origins.values()}
    return _frozen(
        {
            a: o
            for a, o in held.items()
            if a not in origins and not (o.field == MERGED_FIELD and o.account_id in tree)
        }
    )


def plan_loser_values(
    values: Iterable[str], held: Set[str], released: Set[str], has_customer: bool
) -> tuple[str, ...]:
    """The values of a merged-away loser its master's customer takes (see the docstring):
    none while the master's tree has no customer, else those neither held nor released."""
    if not has_customer:
        return ()
    return tuple(v for v in dict.fromkeys(values) if v not in held and v not in released)
