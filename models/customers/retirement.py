"""A customer's life after creation: merged into another, or archived.

One mechanism serves every merge (an acquisition at the source, where a root account with
its own customer becomes a child of another; an account merge at the source, where the loser
is deleted): the absorbed customer's contracts, externally sourced
aliases and their usage move to the survivor in the caller's transaction, and the absorbed
customer is `archived` with `merged_into` set. Manual aliases stay where an operator put
them. Archiving releases every alias (their usage becomes pending), as the billing platform
recommends before an archive, and archives its contracts; an archived customer takes no new
contracts or aliases. Every contract a merge moves gets a `moved` revision with the merge's
`Change` (its cause names the account, e.g. `acquired: account …`, and the run).

A merge is undone when the absorbed customer's account becomes the root of a tree its
survivor's account is not in (an acquisition detached again, the survivor's account merged
away): `revive_customer` makes it active again, and the sync that found it moves its tree's
aliases and contracts back (each move recorded).

Both customers are locked (in id order, PostgreSQL `FOR UPDATE`; SQLite has one writer), and
provisioning locks a customer before writing to it and re-reads its status under the lock
(`active_customer`), so a deal provisioned while its customer is merged lands on the
survivor: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfsync.models.aliases.lookups import aliases_of
from sfsync.models.aliases.moves import record_moves
from sfsync.models.aliases.ownership import remove_aliases, transfer_external_aliases
from sfsync.models.contracts.bulk import contracts_by_id
from sfsync.models.contracts.revisions import Change, RevisionRow, insert_revisions, terms_of
from sfsync.models.dialect import is_postgres
from sfsync.models.errors import CustomerArchived, NotFound
from sfsync.models.tables import Contract, Customer
from sfsync.models.types import (
    AliasMoveReason,
    ContractStatus,
    CustomerStatus,
    RevisionKind,
    utcnow,
)

__all__ = [
    "Archived",
    "Merged",
    "active_among",
    "active_customer",
    "archive_customer",
    "lock_customers",
    "merge_customers",
    "merge_family",
    "revive_customer",
    "stranded_contracts",
    "survivor_of",
    "survivors",
]

# A merge chain is flattened on every merge; this only guards against a corrupt store.
_MAX_CHAIN = 50


@dataclass(frozen=True)
class Merged:
    """What a merge moved."""

    absorbed_id: uuid.UUID
    survivor_id: uuid.UUID
    contracts: int = 0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Archived:
    """What archiving released."""

    customer_id: uuid.UUID
    released: tuple[str, ...] = field(default_factory=tuple)
    already: bool = False


def lock_customers(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Lock customers (id order) and read their current committed state."""
    wanted = sorted(set(ids))
    query = (
        select(Customer)
        .where(Customer.id.in_(wanted))
        .order_by(Customer.id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        query = query.with_for_update()
    found = {c.id: c for c in session.scalars(query)}
    for customer_id in wanted:
        if customer_id not in found:
            raise NotFound(f"no customer {customer_id}")
    return found


def active_among(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The active ones of these customers."""
    wanted = list(set(ids))
    out: set[uuid.UUID] = set()
    for start in range(0, len(wanted), 500):
        out.update(
            session.scalars(
                select(Customer.id).where(
                    Customer.id.in_(wanted[start : start + 500]),
                    Customer.status == CustomerStatus.ACTIVE,
                )
            )
        )
    return out


def survivors(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """customer → the customer it was merged into (itself if none); merges keep chains one
    step long, so one read answers (no locks: for planning, not for writing)."""
    wanted = list(set(ids))
    out: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Customer.id, Customer.merged_into).where(
                Customer.id.in_(wanted[start : start + 500])
            )
        )
        out.update((i, merged or i) for i, merged in rows)
    return out


def merge_family(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """These customers' survivors and every customer merged into one of them."""
    heads = set(survivors(session, ids).values())
    family = set(heads)
    listed = list(heads)
    for start in range(0, len(listed), 500):
        family.update(
            session.scalars(
                select(Customer.id).where(Customer.merged_into.in_(listed[start : start + 500]))
            )
        )
    return family


def survivor_of(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer itself, or the one it was (transitively) merged into."""
    customer = lock_customers(session, [customer_id])[customer_id]
    for _ in range(_MAX_CHAIN):
        if customer.merged_into is None:
            return customer
        customer = lock_customers(session, [customer.merged_into])[customer.merged_into]
    return customer


def active_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer that takes new work for this one: itself, or its survivor if merged.

    Locks it. Raises `CustomerArchived` when the customer (or its survivor) was archived.
    """
    customer = survivor_of(session, customer_id)
    if customer.status is not CustomerStatus.ACTIVE:
        raise CustomerArchived(customer_id, customer.id if customer.id != customer_id else None)
    return customer


#: The cause of a merge's contract moves when the caller gives none (an operator's merge).
MERGED = Change("merged")


def merge_customers(
    session: Session,
    absorbed_id: uuid.UUID,
    survivor_id: uuid.UUID,
    change: Change = MERGED,
) -> Merged | None:
    """Merge `absorbed_id` into `survivor_id`; None when there is nothing to do.

    Each contract moved gets a `moved` revision with `change`.

    Idempotent: merging a customer already merged into the survivor does nothing. Raises
    `CustomerArchived` if the survivor is archived, `AliasLimitExceeded` if the aliases would
    not fit (nothing applied: savepoint).
    """
    if absorbed_id == survivor_id:
        return None
    locked = lock_customers(session, [absorbed_id, survivor_id])
    absorbed, survivor = locked[absorbed_id], locked[survivor_id]
    if survivor.status is not CustomerStatus.ACTIVE:
        raise CustomerArchived(survivor_id, survivor.merged_into)
    if absorbed.status is not CustomerStatus.ACTIVE:
        return None  # merged already, or archived by hand: nothing of it takes new work
    with session.begin_nested():
        moved = transfer_external_aliases(session, absorbed_id, survivor_id)
        session.flush()
        owned = session.scalars(select(Contract.id).where(Contract.customer_id == absorbed_id))
        before = {c: terms_of(row) for c, row in contracts_by_id(session, list(owned)).items()}
        contracts = list(
            session.scalars(
                update(Contract)
                .where(Contract.customer_id == absorbed_id)
                .values(customer_id=survivor_id, updated_at=utcnow())
                .returning(Contract.id)
                .execution_options(synchronize_session=False)
            )
        )
        insert_revisions(
            session,
            [
                RevisionRow(
                    c,
                    RevisionKind.MOVED,
                    before[c],
                    {**before[c], "customer_id": str(survivor_id)},
                    change,
                )
                for c in contracts
                if c in before
            ],
        )
        now = utcnow()
        absorbed.status = CustomerStatus.ARCHIVED
        absorbed.archived_at = now
        absorbed.merged_into = survivor_id
        absorbed.updated_at = now
        session.flush()
        # Keep chains one step long: whoever was merged into the absorbed one now points on.
        session.execute(
            update(Customer)
            .where(Customer.merged_into == absorbed_id)
            .values(merged_into=survivor_id)
            .execution_options(synchronize_session=False)
        )
        record_moves(
            session,
            {a: (absorbed_id, survivor_id, o.account_id) for a, o in moved.items()},
            AliasMoveReason.MERGED,
        )
    return Merged(absorbed_id, survivor_id, len(contracts), tuple(moved))


def stranded_contracts(session: Session) -> set[uuid.UUID]:
    """Active contracts held by an archived customer: a merge moves every contract and an
    archive archives them, so each one is drift for reconciliation to repair."""
    return set(
        session.scalars(
            select(Contract.id)
            .join(Customer, Customer.id == Contract.customer_id)
            .where(
                Contract.status == ContractStatus.ACTIVE,
                Customer.status == CustomerStatus.ARCHIVED,
            )
        )
    )


def revive_customer(session: Session, customer_id: uuid.UUID) -> bool:
    """Undo a merge: the absorbed customer takes work again (its aliases and contracts are
    claimed back by the caller). Returns whether it was merged; one archived by hand stays."""
    customer = lock_customers(session, [customer_id])[customer_id]
    if customer.status is CustomerStatus.ACTIVE or customer.merged_into is None:
        return False
    customer.status = CustomerStatus.ACTIVE
    customer.archived_at = None
    customer.merged_into = None
    customer.updated_at = utcnow()
    session.flush()
    return True


def archive_customer(session: Session, customer_id: uuid.UUID) -> Archived:
    """Archive a customer: every alias released (usage pending again), no new work after.

    Archiving an archived customer changes nothing (`already`).
    """
    customer = lock_customers(session, [customer_id])[customer_id]
    if customer.status is CustomerStatus.ARCHIVED:
        return Archived(customer_id, already=True)
    released = aliases_of(session, customer_id)
    with session.begin_nested():
        remove_aliases(session, customer_id, released)
        now = utcnow()
        session.execute(
            update(Contract)
            .where(Contract.customer_id == customer_id)
            .values(status=ContractStatus.ARCHIVED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        customer.status = CustomerStatus.ARCHIVED
        customer.archived_at = now
        customer.updated_at = now
        session.flush()
        record_moves(
            session, {a: (customer_id, None, None) for a in released}, AliasMoveReason.ARCHIVED
        )
    return Archived(customer_id, tuple(released))
