"""Set-based customer operations: many customers and custom field values per statement.

The building blocks of page-at-a-time provisioning. Each keeps the store's rules the way the
one-row operations do — the unique indexes stay the arbiter, so a racing writer cannot make
a duplicate: inserts that may race are insert-or-ignore with RETURNING, and the caller
re-reads the winners of what was not returned. Validation stays with the callers (the
one-row functions' validators are reused there).

Every operation is one statement whatever the number of rows: rows and look-up values travel
as one JSON document (`models.jsonrows`), which costs a few microseconds a row where
SQLAlchemy's per-row binding cost tens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.customers.fields import find_many_by_field
from sfsync.models.dialect import is_postgres
from sfsync.models.tables import (
    Customer,
    CustomFieldKey,
    CustomFieldValue,
)
from sfsync.models.types import (
    CustomerStatus,
    Entity,
    utcnow,
)

__all__ = [
    "claim_field_values",
    "insert_customers",
    "lock_active_customers",
    "lock_customers",
    "rename_customers",
]


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
    rows = [(entity, entity_id, key, value, flag, now) for value, entity_id in wanted.items()]
    won = set(
        jsonrows.insert_rows(
            session,
            jsonrows.table_of(CustomFieldValue),
            ("entity", "entity_id", "key", "value", "is_unique", "updated_at"),
            rows,
            on_conflict=(),
            returning="value",
            order_by="value",
        )
    )
    out = {value: wanted[value] for value in won}
    lost = [value for value in wanted if value not in won]
    if lost:
        out.update(find_many_by_field(session, entity, key, lost))
    return out


def insert_customers(session: Session, names: Mapping[uuid.UUID, str]) -> None:
    """Insert new customers (ids chosen by the caller, names already validated)."""
    now = utcnow()
    rows = [(i, n, now, now) for i, n in names.items()]
    jsonrows.insert_rows(
        session, jsonrows.table_of(Customer), ("id", "name", "created_at", "updated_at"), rows
    )


def rename_customers(session: Session, names: Mapping[uuid.UUID, str]) -> set[uuid.UUID]:
    """Bring customers' names up to date; returns the ids whose name changed."""
    now = utcnow()
    changed = jsonrows.update_rows(
        session,
        jsonrows.table_of(Customer),
        "id",
        ("id", "name", "updated_at"),
        [(i, name, now) for i, name in sorted(names.items())],
        unless_equal=("name",),
    )
    return {jsonrows.as_uuid(i) for i in changed}


def lock_customers(session: Session, ids: Iterable[uuid.UUID]) -> None:
    """Lock customers whose aliases change, in id order (PostgreSQL; SQLite serialises writers)."""
    if not is_postgres(session):
        return
    wanted = sorted(set(ids))
    if wanted:
        table = jsonrows.table_of(Customer)
        session.connection().execute(
            select(table.c.id)
            .where(jsonrows.in_json(session, table.c.id, "ids"))
            .order_by(table.c.id)
            .with_for_update(),
            {"ids": jsonrows.values(session, table.c.id, wanted)},
        )


def lock_active_customers(session: Session, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Lock customers (id order; PostgreSQL) and return the active ones, read under the lock.

    A merge or an archive holds the same locks, so a page cannot write to a customer that
    one of them emptied meanwhile.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    table = jsonrows.table_of(Customer)
    statement = (
        select(table.c.id, table.c.status)
        .where(jsonrows.in_json(session, table.c.id, "ids"))
        .order_by(table.c.id)
    )
    if is_postgres(session):
        statement = statement.with_for_update()
    rows = session.connection().execute(
        statement, {"ids": jsonrows.values(session, table.c.id, wanted)}
    )
    return {jsonrows.as_uuid(i) for i, status in rows if status == CustomerStatus.ACTIVE.value}
