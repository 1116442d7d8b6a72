"""Deals that stopped counting: an opportunity no longer won, or deleted, ends its contract.

The incremental stream reads every changed opportunity (queryAll, won or not). A record
that is won and not deleted is a deal (`sync.opportunities`); any other is *gone*: if the
store holds its contract, the contract is ended at the record's SystemModstamp (or archived
if it had not started, `models.contracts.change_plans.plan_end`) with a revision; if not, the
record is read and nothing more — no look-up, no write.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from sfsync.models.contracts.bulk import contracts_by_id, update_contracts
from sfsync.models.contracts.change_plans import plan_end
from sfsync.models.contracts.revisions import Change, RevisionRow, insert_revisions, terms_of
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, find_many_by_field
from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import Entity, RevisionKind
from sfsync.sync.salesforce import OpportunityRow

__all__ = ["GoneDeal", "apply_gone", "counts", "gone_deals", "unchanged_deals"]


def counts(row: OpportunityRow) -> bool:
    """Whether an opportunity is a deal: won, and not in the recycle bin."""
    return row.won and not row.deleted


@dataclass(frozen=True)
class GoneDeal:
    """A held deal that no longer counts, and since when (its SystemModstamp)."""

    opportunity_id: str
    contract_id: uuid.UUID
    at: datetime
    deleted: bool

    @property
    def cause(self) -> str:
        return "opportunity deleted in Salesforce" if self.deleted else "opportunity no longer won"


def gone_deals(session: Session, rows: Sequence[OpportunityRow]) -> list[GoneDeal]:
    """Of `rows` (ones that do not count: not won, deleted, or left out by the filter),
    those whose contracts the store holds (one look-up).

    A record without a usable Id or SystemModstamp cannot be a held deal's change in any
    way the store could act on; it is skipped like any other stranger.
    """
    candidates: dict[str, tuple[datetime, bool]] = {}
    for row in rows:
        if row.id is not None and row.modstamp is not None:
            candidates[row.id] = (row.modstamp, row.deleted)
    if not candidates:
        return []
    held = find_many_by_field(session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, list(candidates))
    return [
        GoneDeal(o, held[o], at, deleted) for o, (at, deleted) in candidates.items() if o in held
    ]


def unchanged_deals(session: Session, rows: Sequence[OpportunityRow]) -> set[str]:
    """Held deals whose record is the very change their contract was last written from
    (same SystemModstamp): re-read in the lookback, nothing in them can be new (one look-up
    and one read of the contracts)."""
    stamps = {
        row.id: row.modstamp for row in rows if row.id is not None and row.modstamp is not None
    }
    if not stamps:
        return set()
    held = find_many_by_field(session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, list(stamps))
    written = contracts_by_id(session, held.values())
    return {
        o
        for o, contract_id in held.items()
        if contract_id in written and written[contract_id].source_version == stamps[o]
    }


def apply_gone(
    session: Session, gone: Sequence[GoneDeal], change: Change, counters: RunCounters
) -> None:
    """End or archive the contracts of deals that stopped counting (set-based), each with a
    revision; contracts already ended or archived are left as they are."""
    if not gone:
        return
    stored = contracts_by_id(session, [g.contract_id for g in gone])
    changed = []
    revisions = []
    for deal in gone:
        current = stored.get(deal.contract_id)
        plan = plan_end(current, deal.at) if current is not None else None
        if current is None or plan is None:
            continue
        target, kind = plan
        target = replace(target, source_version=deal.at)
        changed.append(target)
        why = replace(change, cause=f"{deal.cause}; {change.cause}", source_version=deal.at)
        revisions.append(RevisionRow(target.id, kind, terms_of(current), terms_of(target), why))
        if kind is RevisionKind.ARCHIVED:
            counters.contracts_archived += 1
        else:
            counters.contracts_ended += 1
    update_contracts(session, changed)
    insert_revisions(session, revisions)
