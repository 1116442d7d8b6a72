"""What a piece of work changed in the store, read from the store itself (a dry run's plan).

`take_snapshot` before the work, `changes_since` after it, in the same transaction (the
dry run rolls it back afterwards): customers and aliases are compared with the snapshot
(whatever path created, renamed, archived, moved or removed them), contracts are the
revisions written since (every contract change writes one, `models.contracts.revisions`), dead
letters those opened, failed again or resolved since, and writebacks the outbox rows queued.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID
from sfsync.models.dialect import in_chunks
from sfsync.models.tables import (
    AliasMove,
    Contract,
    ContractRevision,
    Customer,
    CustomFieldValue,
    DeadLetter,
    IngestAlias,
    Writeback,
)
from sfsync.models.types import DeadLetterStatus, Entity, RevisionKind, utcnow

__all__ = [
    "AliasChange",
    "ContractChange",
    "CustomerChange",
    "LetterChange",
    "Snapshot",
    "StoreChanges",
    "changes_since",
    "take_snapshot",
]

#: (name, status, merged_into) of each customer.
_CustomerState = tuple[str, str, uuid.UUID | None]


@dataclass(frozen=True)
class Snapshot:
    """The store's state where changes are looked for: compared with, or counted from."""

    at: datetime
    customers: Mapping[uuid.UUID, _CustomerState]
    aliases: Mapping[str, uuid.UUID]
    writebacks: frozenset[str]
    last_revision: int
    last_alias_move: int
    last_letter: int


@dataclass(frozen=True)
class CustomerChange:
    #: "create", "rename", "archive" (merged: `merged_into` set) or "reactivate".
    kind: str
    customer_id: uuid.UUID
    name: str
    before_name: str | None
    account_key: str | None
    merged_into: uuid.UUID | None = None


@dataclass(frozen=True)
class AliasChange:
    #: "add", "move", "release" (its usage pending again) or "remove".
    kind: str
    alias: str
    from_customer_id: uuid.UUID | None
    to_customer_id: uuid.UUID | None
    #: Why a move or release was made (`AliasMoveReason`), when the sync recorded one.
    reason: str | None
    source_account_id: str | None


@dataclass(frozen=True)
class ContractChange:
    kind: RevisionKind
    contract_id: uuid.UUID
    contract_name: str
    customer_id: uuid.UUID
    deal_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]
    cause: str


@dataclass(frozen=True)
class LetterChange:
    #: "new" (a letter opened), "again" (an open letter failed once more) or "resolved"
    #: (its record now goes through: the letter is marked replayed).
    kind: str
    letter_id: int
    source: str
    reference: str | None
    error_class: str
    error_message: str


@dataclass(frozen=True)
class StoreChanges:
    customers: Sequence[CustomerChange]
    aliases: Sequence[AliasChange]
    contracts: Sequence[ContractChange]
    letters: Sequence[LetterChange]
    #: Accounts whose writeback (the customer id onto the account) would be queued.
    writebacks: Sequence[str]
    #: Every customer the changes name: id → (name, account key) as they would be.
    names: Mapping[uuid.UUID, tuple[str, str | None]]


def _last_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0)


def _customers(session: Session) -> dict[uuid.UUID, _CustomerState]:
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.status, Customer.merged_into)
    )
    return {r.id: (r.name, str(r.status), r.merged_into) for r in rows}


def _aliases(session: Session) -> dict[str, uuid.UUID]:
    return dict(session.execute(select(IngestAlias.alias, IngestAlias.customer_id)).tuples().all())


def take_snapshot(session: Session) -> Snapshot:
    """The state `changes_since` compares with (customers and aliases in full)."""
    return Snapshot(
        at=utcnow(),
        customers=_customers(session),
        aliases=_aliases(session),
        writebacks=frozenset(session.scalars(select(Writeback.account_id))),
        last_revision=_last_id(session, ContractRevision.id),
        last_alias_move=_last_id(session, AliasMove.id),
        last_letter=_last_id(session, DeadLetter.id),
    )


def _field_values(
    session: Session, entity: Entity, key: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    out: dict[uuid.UUID, str] = {}
    for chunk in in_chunks(ids):
        rows = session.execute(
            select(CustomFieldValue.entity_id, CustomFieldValue.value).where(
                CustomFieldValue.entity == entity,
                CustomFieldValue.key == key,
                CustomFieldValue.entity_id.in_(chunk),
            )
        )
        out.update(rows.tuples().all())
    return out


def _customer_changes(session: Session, snapshot: Snapshot) -> list[CustomerChange]:
    changes: list[tuple[str, uuid.UUID, str, str | None, uuid.UUID | None]] = []
    for cid, (name, status, merged_into) in _customers(session).items():
        before = snapshot.customers.get(cid)
        if before is None:
            changes.append(("create", cid, name, None, None))
            continue
        if name != before[0]:
            changes.append(("rename", cid, name, before[0], None))
        if status != before[1]:
            kind = "archive" if status == "archived" else "reactivate"
            changes.append((kind, cid, name, None, merged_into))
    accounts = _field_values(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, [c[1] for c in changes])
    return [
        CustomerChange(kind, cid, name, before, accounts.get(cid), merged)
        for kind, cid, name, before, merged in sorted(changes, key=lambda c: (c[0], c[2], c[1]))
    ]


def _alias_changes(session: Session, snapshot: Snapshot) -> list[AliasChange]:
    moves = {
        m.alias: m
        for m in session.scalars(
            select(AliasMove).where(AliasMove.id > snapshot.last_alias_move).order_by(AliasMove.id)
        )
    }
    after = _aliases(session)
    origins = dict(
        session.execute(select(IngestAlias.alias, IngestAlias.source_account_id)).tuples().all()
    )
    changes: list[AliasChange] = []
    for alias in sorted(set(after) | set(snapshot.aliases)):
        before, now = snapshot.aliases.get(alias), after.get(alias)
        if before == now:
            continue
        move = moves.get(alias)
        reason = str(move.reason) if move is not None else None
        account = origins.get(alias) or (move.source_account_id if move is not None else None)
        if before is None:
            kind = "add"
        elif now is None:
            kind = "release" if move is not None else "remove"
        else:
            kind = "move"
        changes.append(AliasChange(kind, alias, before, now, reason, account))
    return changes


def _contract_changes(session: Session, snapshot: Snapshot) -> list[ContractChange]:
    revisions = list(
        session.scalars(
            select(ContractRevision)
            .where(ContractRevision.id > snapshot.last_revision)
            .order_by(ContractRevision.id)
        )
    )
    ids = sorted({r.contract_id for r in revisions})
    contracts = {
        c.id: c
        for chunk in in_chunks(ids)
        for c in session.scalars(select(Contract).where(Contract.id.in_(chunk)))
    }
    deals = _field_values(session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, ids)
    return [
        ContractChange(
            kind=r.kind,
            contract_id=r.contract_id,
            contract_name=contracts[r.contract_id].name,
            customer_id=contracts[r.contract_id].customer_id,
            deal_id=deals.get(r.contract_id),
            before=r.before,
            after=r.after,
            cause=r.cause,
        )
        for r in revisions
    ]


def _letter_changes(session: Session, snapshot: Snapshot) -> list[LetterChange]:
    rows = session.scalars(
        select(DeadLetter)
        .where(
            or_(
                DeadLetter.id > snapshot.last_letter,
                DeadLetter.last_failed_at >= snapshot.at,
                DeadLetter.resolved_at >= snapshot.at,
            )
        )
        .order_by(DeadLetter.id)
    )
    changes = []
    for letter in rows:
        if letter.status is DeadLetterStatus.REPLAYED:
            kind = "resolved"
        elif letter.id > snapshot.last_letter:
            kind = "new"
        else:
            kind = "again"
        changes.append(
            LetterChange(
                kind,
                letter.id,
                str(letter.source),
                letter.reference,
                letter.error_class,
                letter.error_message,
            )
        )
    return changes


def _names(
    session: Session,
    customers: Sequence[CustomerChange],
    aliases: Sequence[AliasChange],
    contracts: Sequence[ContractChange],
) -> dict[uuid.UUID, tuple[str, str | None]]:
    ids: set[uuid.UUID] = {c.customer_id for c in customers}
    ids |= {c.merged_into for c in customers if c.merged_into is not None}
    ids |= {i for a in aliases for i in (a.from_customer_id, a.to_customer_id) if i is not None}
    for c in contracts:
        ids.add(c.customer_id)
        for terms in (c.before, c.after):
            if terms and terms.get("customer_id"):
                ids.add(uuid.UUID(str(terms["customer_id"])))
    wanted = sorted(ids)
    names = {
        cid: name
        for chunk in in_chunks(wanted)
        for cid, name in session.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_(chunk))
        )
        .tuples()
        .all()
    }
    accounts = _field_values(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, wanted)
    return {i: (names[i], accounts.get(i)) for i in wanted if i in names}


def changes_since(session: Session, snapshot: Snapshot) -> StoreChanges:
    """What changed since `snapshot` was taken (see the module docstring)."""
    queued = set(session.scalars(select(Writeback.account_id))) - snapshot.writebacks
    customers = _customer_changes(session, snapshot)
    aliases = _alias_changes(session, snapshot)
    contracts = _contract_changes(session, snapshot)
    return StoreChanges(
        customers=customers,
        aliases=aliases,
        contracts=contracts,
        letters=_letter_changes(session, snapshot),
        writebacks=sorted(queued),
        names=_names(session, customers, aliases, contracts),
    )
