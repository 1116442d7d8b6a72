"""Tallies of ingest calls: how many events each accepted, found duplicate and rejected."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sfsync.models.tables import IngestTally

__all__ = ["duplicates_total", "record_tally"]


def record_tally(session: Session, accepted: int, duplicate: int, rejected: int) -> None:
    """One row per ingest call, in its transaction (an insert: no row is ever contended)."""
    if accepted or duplicate or rejected:
        # A Core insert, sent now: the ORM's unit of work (an object, a flush at commit, the
        # id read back) cost a millisecond a call for a row nobody reads back.
        session.execute(
            insert(IngestTally).values(accepted=accepted, duplicate=duplicate, rejected=rejected)
        )


def duplicates_total(session: Session) -> int:
    """Events ever sent again with a transaction id the store already held."""
    return int(session.scalar(select(func.coalesce(func.sum(IngestTally.duplicate), 0))) or 0)
