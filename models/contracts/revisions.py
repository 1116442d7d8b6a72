"""Contract revisions: every change made to a contract, its terms before and after, and why.

A revision is written in the same transaction as the change it describes, so the history
of a contract is exactly the changes the store holds. Terms are stored as a JSON object of
strings (`terms_of`): amounts in plain decimal notation, instants in ISO 8601 UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models import jsonrows
from sfsync.models.contracts.terms import ContractRow, row_of
from sfsync.models.tables import Contract, ContractRevision
from sfsync.models.types import ContractStatus, RevisionKind, utcnow

__all__ = [
    "SYNC",
    "Change",
    "RevisionRow",
    "add_revision",
    "history",
    "insert_revisions",
    "terms_of",
]

Terms = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """Why a change is made: a sentence, the source version it came from, the run making it."""

    cause: str
    source_version: datetime | None = None
    run_id: int | None = None


#: The cause of a change made by a sync outside a run (tests, one-off provisioning).
SYNC = Change("sync")


@dataclass(frozen=True)
class RevisionRow:
    contract_id: uuid.UUID
    kind: RevisionKind
    before: Terms | None
    after: Terms
    change: Change


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def terms_of(row: ContractRow) -> Terms:
    """A contract's owner, terms and status as a revision stores them."""
    terms = row.terms
    return {
        "customer_id": str(row.customer_id),
        "name": terms.name,
        "starting_at": _instant(terms.starting_at),
        "ending_before": _instant(terms.ending_before),
        "amount": format(terms.amount, "f") if terms.amount is not None else None,
        "currency": terms.currency,
        "status": ContractStatus(row.status).value,
    }


_COLUMNS = ("contract_id", "kind", "before", "after", "cause", "source_version", "run_id", "at")


def insert_revisions(session: Session, rows: Sequence[RevisionRow]) -> None:
    """Write revisions, any number in one statement."""
    now = utcnow()
    jsonrows.insert_rows(
        session,
        jsonrows.table_of(ContractRevision),
        _COLUMNS,
        [
            (
                r.contract_id,
                r.kind,
                r.before,
                r.after,
                r.change.cause,
                r.change.source_version,
                r.change.run_id,
                now,
            )
            for r in rows
        ],
    )


def add_revision(
    session: Session, contract: Contract, kind: RevisionKind, before: Terms | None, change: Change
) -> None:
    """A revision of `contract` as it now is (flushed first, so its id and terms are final)."""
    session.flush()
    after = terms_of(row_of(contract))
    insert_revisions(session, [RevisionRow(contract.id, kind, before, after, change)])


def history(session: Session, contract_id: uuid.UUID) -> list[ContractRevision]:
    """A contract's revisions, oldest first."""
    return list(
        session.scalars(
            select(ContractRevision)
            .where(ContractRevision.contract_id == contract_id)
            .order_by(ContractRevision.id)
        )
    )
