"""Set-based contract operations: many contracts per statement.

Page-at-a-time provisioning's statements, kept as `models.customers.bulk` says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.contracts.terms import ContractRow, ContractTerms
from sfsync.models.tables import (
    IS_UNIQUE_VALUE,
    Contract,
    CustomFieldValue,
)
from sfsync.models.types import (
    Entity,
    utcnow,
)

__all__ = ["contract_customers", "contracts_by_id", "insert_contracts", "update_contracts"]


def _conn(session: Session) -> Connection:
    # Core statements on the session's connection: none of the ORM's per-row bookkeeping
    # (nothing here is loaded as objects).
    return session.connection()


def contracts_by_id(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ContractRow]:
    table = jsonrows.table_of(Contract)
    wanted = set(ids)
    if not wanted:
        return {}
    statement = select(*(table.c[name] for name in _CONTRACT_COLUMNS)).where(
        jsonrows.in_json(session, table.c.id, "ids")
    )
    rows = _conn(session).execute(statement, {"ids": jsonrows.values(session, table.c.id, wanted)})
    return {row[0]: ContractRow(row[0], row[1], ContractTerms(*row[2:7]), *row[7:]) for row in rows}


def contract_customers(session: Session, key: str, values: Sequence[str]) -> dict[str, uuid.UUID]:
    """value of contract key `key` → the customer of the contract holding it."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return {}
    table = jsonrows.table_of(CustomFieldValue)
    contracts = jsonrows.table_of(Contract)
    statement = (
        select(table.c.value, contracts.c.customer_id)
        .join_from(table, contracts, contracts.c.id == table.c.entity_id)
        .where(
            table.c.entity == Entity.CONTRACT,
            table.c.key == key,
            jsonrows.in_json(session, table.c.value, "values"),
            IS_UNIQUE_VALUE,
        )
    )
    rows = _conn(session).execute(
        statement, {"values": jsonrows.values(session, table.c.value, wanted)}
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
    "source_version",
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
        row.source_version,
    )


def insert_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    now = utcnow()
    jsonrows.insert_rows(
        session,
        jsonrows.table_of(Contract),
        (*_CONTRACT_COLUMNS, "created_at", "updated_at"),
        [(*_contract_values(r), now, now) for r in rows],
    )


def update_contracts(session: Session, rows: Sequence[ContractRow]) -> None:
    now = utcnow()
    jsonrows.update_rows(
        session,
        jsonrows.table_of(Contract),
        "id",
        (*_CONTRACT_COLUMNS, "updated_at"),
        [(*_contract_values(r), now) for r in sorted(rows, key=lambda r: r.id)],
    )
