"""Set-based store operations: many customers, aliases, contracts and letters per statement.

The building blocks of page-at-a-time provisioning. Each keeps the store's rules the way the
one-row operations do — the unique indexes stay the arbiter, so a racing writer cannot make
a duplicate: inserts that may race are insert-or-ignore with RETURNING, and the caller
re-reads the winners of what was not returned. Validation stays with the callers (the
one-row functions' validators are reused there). Knows nothing of Salesforce.

Every operation is one statement whatever the number of rows: rows and look-up values travel
as one JSON document (`models.jsonrows`), which costs a few microseconds a row where
SQLAlchemy's per-row binding cost tens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.aliases import AliasOrigin
from sfsync.models.contract_terms import ContractRow, ContractTerms
from sfsync.models.dialect import is_postgres
from sfsync.models.fields import find_many_by_field
from sfsync.models.tables import (
    Contract,
    Customer,
    CustomFieldKey,
    CustomFieldValue,
    DeadLetter,
    IngestAlias,
    UsageEvent,
    Writeback,
)
from sfsync.models.types import (
    AliasSource,
    CustomerStatus,
    DeadLetterSource,
    DeadLetterStatus,
    Entity,
    UTCDateTime,
    WritebackStatus,
    utcnow,
)

__all__ = [
    "alias_counts",
    "attribute_aliases",
    "claim_field_values",
    "contract_customers",
    "contracts_by_id",
    "enqueue_writebacks",
    "insert_aliases",
    "insert_contracts",
    "insert_customers",
    "lock_active_customers",
    "lock_customers",
    "rename_customers",
    "resolve_open_letters",
    "update_contracts",
]


def _conn(session: Session) -> Connection:
    # Core statements on the session's connection: none of the ORM's per-row bookkeeping
    # (nothing here is loaded as objects).
    return session.connection()


def _table(entity: type[Any]) -> Table:
    table: Table = entity.__table__
    return table


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
    rows = [(entity, entity_id, key, value, flag, now) for value, entity_id in wanted.items()]
    won = set(
        jsonrows.insert_rows(
            session,
            _table(CustomFieldValue),
            ("entity", "entity_id", "key", "value", "is_unique", "updated_at"),
            rows,
            on_conflict="",
            returning="value",
            order_by="value",
        )
    )
    out = {value: wanted[value] for value in won}
    lost = [value for value in wanted if value not in won]
    if lost:
        out.update(find_many_by_field(session, entity, key, lost))
    return out


# --- customers -------------------------------------------------------------------------------


def insert_customers(session: Session, names: Mapping[uuid.UUID, str]) -> None:
    """Insert new customers (ids chosen by the caller, names already validated)."""
    now = utcnow()
    rows = [(i, n, now, now) for i, n in names.items()]
    jsonrows.insert_rows(
        session, _table(Customer), ("id", "name", "created_at", "updated_at"), rows
    )


def rename_customers(session: Session, names: Mapping[uuid.UUID, str]) -> set[uuid.UUID]:
    """Bring customers' names up to date; returns the ids whose name changed."""
    now = utcnow()
    changed = jsonrows.update_rows(
        session,
        _table(Customer),
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
        table = _table(Customer)
        where = jsonrows.in_list(session, table.c.id, "ids")
        session.connection().execute(
            text(f"SELECT id FROM customers WHERE {where} ORDER BY id FOR UPDATE"),
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
    table = _table(Customer)
    where = jsonrows.in_list(session, table.c.id, "ids")
    lock = " FOR UPDATE" if is_postgres(session) else ""
    rows = session.connection().execute(
        text(f"SELECT id, status FROM customers WHERE {where} ORDER BY id{lock}"),
        {"ids": jsonrows.values(session, table.c.id, wanted)},
    )
    return {jsonrows.as_uuid(i) for i, status in rows if status == CustomerStatus.ACTIVE.value}


# --- aliases ---------------------------------------------------------------------------------


def insert_aliases(
    session: Session,
    owners: Mapping[str, uuid.UUID],
    origins: Mapping[str, AliasOrigin] | None = None,
) -> list[str]:
    """Insert-or-ignore alias → customer; returns the aliases this call attached.

    `origins` names the Salesforce origin of each alias that has one (the rest are manual).
    """
    now = utcnow()
    origins = origins or {}
    rows: list[tuple[str, uuid.UUID, datetime, AliasSource, str | None, str | None]] = []
    for a, c in owners.items():
        origin = origins.get(a)
        if origin is None:
            rows.append((a, c, now, AliasSource.MANUAL, None, None))
        else:
            rows.append((a, c, now, AliasSource.SALESFORCE, origin.account_id, origin.field))
    return jsonrows.insert_rows(
        session,
        _table(IngestAlias),
        ("alias", "customer_id", "created_at", "source", "source_account_id", "source_field"),
        rows,
        on_conflict="(alias)",
        returning="alias",
        order_by="alias",
    )


def alias_counts(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Number of aliases of each customer."""
    table = _table(IngestAlias)
    rows = jsonrows.select_in(
        session,
        table.c.customer_id,
        customer_ids,
        "customer_id, count(*)",
        suffix="GROUP BY customer_id",
    )
    return {jsonrows.as_uuid(i): int(n) for i, n in rows}


def attribute_aliases(session: Session, aliases: Sequence[str]) -> None:
    """Stored usage keyed on newly attached aliases follows their owners (one UPDATE).

    Only rows with a stored customer are rewritten; the others are the owner's by
    derivation (`models.usage_attribution`)."""
    if not aliases:
        return
    table = _table(UsageEvent)
    where = jsonrows.in_list(session, table.c.customer_key, "keys")
    session.connection().execute(
        text(
            "UPDATE usage_events SET customer_id = (SELECT a.customer_id FROM ingest_aliases AS a "
            f"WHERE a.alias = usage_events.customer_key) WHERE {where} "
            "AND customer_id IS NOT NULL"
        ),
        {"keys": jsonrows.values(session, table.c.customer_key, dict.fromkeys(aliases))},
    )


# --- contracts -------------------------------------------------------------------------------


def contracts_by_id(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ContractRow]:
    table = _table(Contract)
    wanted = set(ids)
    if not wanted:
        return {}
    where = jsonrows.in_list(session, table.c.id, "ids")
    statement = text(f"SELECT {', '.join(_CONTRACT_COLUMNS)} FROM contracts WHERE {where}").columns(
        *(table.c[name] for name in _CONTRACT_COLUMNS)
    )
    rows = _conn(session).execute(statement, {"ids": jsonrows.values(session, table.c.id, wanted)})
    return {row[0]: ContractRow(row[0], row[1], ContractTerms(*row[2:7]), *row[7:]) for row in rows}


def contract_customers(session: Session, key: str, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """value of contract key `key` → the customer of the contract holding it."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return {}
    table = _table(CustomFieldValue)
    where = jsonrows.in_list(session, table.c.value, "values")
    rows = _conn(session).execute(
        text(
            "SELECT custom_field_values.value, contracts.customer_id FROM custom_field_values "
            "JOIN contracts ON contracts.id = custom_field_values.entity_id "
            "WHERE custom_field_values.entity = :entity AND custom_field_values.key = :key "
            f"AND {where} AND custom_field_values.is_unique"
        ),
        {
            "entity": Entity.CONTRACT.value,
            "key": key,
            "values": jsonrows.values(session, table.c.value, wanted),
        },
    )
    return {value: jsonrows.as_uuid(customer) for value, customer in rows}


_CONTRACT_COLUMNS = (
    "id",
    "customer_id",
    "name",
    "starting_at",
    "ending_before",
    "amount",
    "currency",
    "status",
    "end_source",
    "sf_modstamp",
)


def _contract_values(row: ContractRow) -> tuple[Any, ...]:
    terms = row.terms
    return (
        row.id,
        row.customer_id,
        terms.name,
        terms.starting_at,
        terms.ending_before,
        terms.amount,
        terms.currency,
        row.status,
        row.end_source,
        row.sf_modstamp,
    )


def insert_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    now = utcnow()
    jsonrows.insert_rows(
        session,
        _table(Contract),
        (*_CONTRACT_COLUMNS, "created_at", "updated_at"),
        [(*_contract_values(r), now, now) for r in rows],
    )


def update_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    now = utcnow()
    jsonrows.update_rows(
        session,
        _table(Contract),
        "id",
        (*_CONTRACT_COLUMNS, "updated_at"),
        [(*_contract_values(r), now) for r in sorted(rows, key=lambda r: r.id)],
    )


# --- dead letters and writebacks -------------------------------------------------------------


def resolve_open_letters(
    session: Session, source: DeadLetterSource, references: Sequence[str]
) -> int:
    """Open letters of these records are replayed: they were processed some other way."""
    if not references:
        return 0
    table = _table(DeadLetter)
    where = jsonrows.in_list(session, table.c.reference, "refs")
    result = _conn(session).execute(
        text(
            "UPDATE dead_letters SET status = :replayed, resolved_at = :now "
            f"WHERE source = :source AND status = :open AND {where}"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        {
            "replayed": DeadLetterStatus.REPLAYED.value,
            "open": DeadLetterStatus.OPEN.value,
            "source": source.value,
            "now": utcnow(),
            "refs": jsonrows.values(session, table.c.reference, dict.fromkeys(references)),
        },
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def enqueue_writebacks(session: Session, customers: Mapping[str, uuid.UUID]) -> None:
    """Outbox rows account id → customer id (an account already queued is left alone)."""
    now = utcnow()
    jsonrows.insert_rows(
        session,
        _table(Writeback),
        ("account_id", "customer_id", "status", "attempts", "created_at"),
        [(a, c, WritebackStatus.PENDING, 0, now) for a, c in customers.items()],
        on_conflict="(account_id)",
        order_by="account_id",
    )
