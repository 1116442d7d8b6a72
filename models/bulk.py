"""Set-based store operations: many customers, aliases, contracts and letters per statement.

The building blocks of page-at-a-time provisioning. Each keeps the store's rules the way the
one-row operations do — the unique indexes stay the arbiter, so a racing writer cannot make
a duplicate: inserts that may race are insert-or-ignore with RETURNING, and the caller
re-reads the winners of what was not returned. Validation stays with the callers (the
one-row functions' validators are reused there). Knows nothing of Salesforce.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from models.dialect import insert as upsert
from models.dialect import is_postgres
from models.fields import UNIQUE_VALUES, find_many_by_field
from models.tables import (
    Contract,
    Customer,
    CustomFieldKey,
    CustomFieldValue,
    DeadLetter,
    IngestAlias,
    UsageEvent,
    Writeback,
)
from models.types import DeadLetterSource, DeadLetterStatus, Entity, WritebackStatus, utcnow

__all__ = [
    "ContractRow",
    "alias_counts",
    "attribute_aliases",
    "chunks",
    "claim_field_values",
    "contract_customers",
    "contracts_by_id",
    "enqueue_writebacks",
    "insert_aliases",
    "insert_contracts",
    "insert_customers",
    "lock_customers",
    "rename_customers",
    "resolve_open_letters",
    "update_contracts",
]

CHUNK = 500
T = TypeVar("T")


def _conn(session: Session) -> Connection:
    # Core statements on the session's connection: executemany with cached SQL, none of the
    # ORM's per-row bookkeeping (nothing here is loaded as objects).
    return session.connection()


def _table(entity: type[Any]) -> Table:
    table: Table = entity.__table__
    return table


def _update_by_id(session: Session, entity: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = :id for many rows (each row: id and the same other columns)."""
    if not rows:
        return
    table = _table(entity)
    columns = [c for c in rows[0] if c != "id"]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    _conn(session).execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class ContractRow:
    """A contract as stored (the columns provisioning compares and writes)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    starting_at: datetime
    ending_before: datetime | None
    amount: Decimal | None
    currency: str


# --- custom field values ---------------------------------------------------------------------


def claim_field_values(
    session: Session, entity: Entity, key: str, wanted: Mapping[str, uuid.UUID]
) -> dict[str, uuid.UUID]:
    """Give each value of unique key `key` to the proposed entity unless one already holds it.

    Returns value → the entity that holds it afterwards: the proposed id where the insert
    won, the existing holder (re-read) where another row — committed by a racing writer, or
    already there — holds it.
    """
    if not wanted:
        return {}
    flag = session.scalar(
        select(CustomFieldKey.enforce_uniqueness).where(
            CustomFieldKey.entity == entity, CustomFieldKey.key == key
        )
    )
    if flag is None:
        raise LookupError(f"{entity} key {key!r} is not registered")
    now = utcnow()
    rows = [
        {
            "entity": entity,
            "entity_id": entity_id,
            "key": key,
            "value": value,
            "is_unique": flag,
            "updated_at": now,
        }
        for value, entity_id in wanted.items()
    ]
    table = _table(CustomFieldValue)
    stmt = upsert(session, table).on_conflict_do_nothing().returning(table.c.value)
    won = set(_conn(session).execute(stmt, rows).scalars())
    out = {value: wanted[value] for value in won}
    lost = [value for value in wanted if value not in won]
    if lost:
        out.update(find_many_by_field(session, entity, key, lost))
    return out


# --- customers -------------------------------------------------------------------------------


def insert_customers(session: Session, names: Mapping[uuid.UUID, str]) -> None:
    """Insert new customers (ids chosen by the caller, names already validated)."""
    now = utcnow()
    rows = [{"id": i, "name": n, "created_at": now, "updated_at": now} for i, n in names.items()]
    if rows:
        _conn(session).execute(_table(Customer).insert(), rows)


def rename_customers(session: Session, names: Mapping[uuid.UUID, str]) -> set[uuid.UUID]:
    """Bring customers' names up to date; returns the ids whose name changed."""
    ids = list(names)
    current: dict[uuid.UUID, str] = {}
    for part in chunks(ids):
        current.update(
            session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(part)))
            .tuples()
            .all()
        )
    changed = {i for i in ids if i in current and current[i] != names[i]}
    if changed:
        now = utcnow()
        _update_by_id(
            session, Customer, [{"id": i, "name": names[i], "updated_at": now} for i in changed]
        )
    return changed


def lock_customers(session: Session, ids: Iterable[uuid.UUID]) -> None:
    """Lock customers whose aliases change, in id order (PostgreSQL; SQLite serialises writers)."""
    if not is_postgres(session):
        return
    for part in chunks(sorted(set(ids))):
        session.execute(
            select(Customer.id).where(Customer.id.in_(part)).order_by(Customer.id).with_for_update()
        )


# --- aliases ---------------------------------------------------------------------------------


def insert_aliases(session: Session, owners: Mapping[str, uuid.UUID]) -> list[str]:
    """Insert-or-ignore alias → customer; returns the aliases this call attached."""
    now = utcnow()
    rows = [{"alias": a, "customer_id": c, "created_at": now} for a, c in owners.items()]
    if not rows:
        return []
    table = _table(IngestAlias)
    stmt = (
        upsert(session, table)
        .on_conflict_do_nothing(index_elements=["alias"])
        .returning(table.c.alias)
    )
    return list(_conn(session).execute(stmt, rows).scalars())


def alias_counts(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Number of aliases of each customer."""
    out: dict[uuid.UUID, int] = {}
    for part in chunks(list(customer_ids)):
        rows = session.execute(
            select(IngestAlias.customer_id, func.count())
            .where(IngestAlias.customer_id.in_(part))
            .group_by(IngestAlias.customer_id)
        )
        out.update(rows.tuples().all())
    return out


def attribute_aliases(session: Session, aliases: Sequence[str]) -> None:
    """Stored usage keyed on newly attached aliases follows their owners (one UPDATE a chunk)."""
    owner = (
        select(IngestAlias.customer_id)
        .where(IngestAlias.alias == UsageEvent.customer_key)
        .scalar_subquery()
    )
    for part in chunks(list(aliases)):
        session.execute(
            update(UsageEvent)
            .where(UsageEvent.customer_key.in_(part))
            .values(customer_id=owner)
            .execution_options(synchronize_session=False)
        )


# --- contracts -------------------------------------------------------------------------------


def contracts_by_id(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ContractRow]:
    out: dict[uuid.UUID, ContractRow] = {}
    columns = (
        Contract.id,
        Contract.customer_id,
        Contract.name,
        Contract.starting_at,
        Contract.ending_before,
        Contract.amount,
        Contract.currency,
    )
    for part in chunks(list(ids)):
        for row in session.execute(select(*columns).where(Contract.id.in_(part))):
            out[row.id] = ContractRow(*row)
    return out


def contract_customers(session: Session, key: str, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """value of contract key `key` → the customer of the contract holding it."""
    out: dict[str, uuid.UUID] = {}
    for part in chunks(list(dict.fromkeys(values))):
        rows = session.execute(
            select(CustomFieldValue.value, Contract.customer_id)
            .join(Contract, Contract.id == CustomFieldValue.entity_id)
            .where(
                CustomFieldValue.entity == Entity.CONTRACT,
                CustomFieldValue.key == key,
                CustomFieldValue.value.in_(part),
                UNIQUE_VALUES,
            )
        )
        out.update(rows.tuples().all())
    return out


def _contract_values(row: ContractRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "name": row.name,
        "starting_at": row.starting_at,
        "ending_before": row.ending_before,
        "amount": row.amount,
        "currency": row.currency,
    }


def insert_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    now = utcnow()
    values = [{**_contract_values(r), "created_at": now, "updated_at": now} for r in rows]
    if values:
        _conn(session).execute(_table(Contract).insert(), values)


def update_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    if not rows:
        return
    now = utcnow()
    _update_by_id(session, Contract, [{**_contract_values(r), "updated_at": now} for r in rows])


# --- dead letters and writebacks -------------------------------------------------------------


def resolve_open_letters(
    session: Session, source: DeadLetterSource, references: Sequence[str]
) -> int:
    """Open letters of these records are replayed: they were processed some other way."""
    resolved = 0
    now = utcnow()
    for part in chunks(list(references)):
        result = session.execute(
            update(DeadLetter)
            .where(
                DeadLetter.source == source,
                DeadLetter.reference.in_(part),
                DeadLetter.status == DeadLetterStatus.OPEN,
            )
            .values(status=DeadLetterStatus.REPLAYED, resolved_at=now)
            .execution_options(synchronize_session=False)
        )
        resolved += int(result.rowcount)  # type: ignore[attr-defined]
    return resolved


def enqueue_writebacks(session: Session, customers: Mapping[str, uuid.UUID]) -> None:
    """Outbox rows account id → customer id (an account already queued is left alone)."""
    now = utcnow()
    rows = [
        {
            "account_id": a,
            "customer_id": c,
            "status": WritebackStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for a, c in customers.items()
    ]
    if rows:
        stmt = upsert(session, _table(Writeback)).on_conflict_do_nothing(
            index_elements=["account_id"]
        )
        _conn(session).execute(stmt, rows)
