"""A contract's lifecycle as its deal changes after the close: the rules, over plain rows.

Both the per-deal path (`models.contracts.records`) and the set-based one (`sync.provision_batch`,
`sync.lifecycle`) decide with these functions, so a deal ends up the same either way:

- the deal's terms (won, won again, edited, moved to another account) → `plan_terms`:
  the contract takes them and is `active`; an end an operator set stays; a currency change
  or a moved start on a contract that has started raises `ChangeNeedsApproval` unless the
  operator accepted it;
- the deal no longer won, or deleted, at instant `at` (its source version) → `plan_end`:
  started contracts are `ended` with `ending_before` at `at` (an earlier end is never
  moved), contracts not yet started are `archived` (void).

"Started" is judged at the change's own instant, so the outcome follows the source's
records and not the moment a sync happens to run.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sfsync.models.contracts.terms import ContractRow, ContractTerms
from sfsync.models.errors import ChangeNeedsApproval
from sfsync.models.types import ContractStatus, EndSource, RevisionKind

__all__ = ["plan_end", "plan_terms", "same_terms", "started"]


def started(row: ContractRow, at: datetime) -> bool:
    """Whether the contract had begun (and so may have been billed) at `at`."""
    return row.status is not ContractStatus.ARCHIVED and row.terms.starting_at < at


def same_terms(a: ContractRow, b: ContractRow) -> bool:
    """Equal in everything a revision records (amounts compared as numbers)."""
    return (a.customer_id, a.terms, a.status, a.end_source) == (
        b.customer_id,
        b.terms,
        b.status,
        b.end_source,
    )


def plan_terms(
    current: ContractRow,
    customer_id: uuid.UUID,
    terms: ContractTerms,
    *,
    at: datetime,
    accept_change: bool = False,
) -> tuple[ContractRow, RevisionKind] | None:
    """The contract after its deal's current terms, and the kind of change; None if none.

    Raises `ChangeNeedsApproval` for a currency change or a moved start on a started
    contract, unless `accept_change`.
    """
    was = current.terms
    operator_end = current.end_source is EndSource.OPERATOR
    if operator_end and terms.ending_before != was.ending_before:
        terms = replace(terms, ending_before=was.ending_before)
    target = ContractRow(
        current.id,
        customer_id,
        terms,
        ContractStatus.ACTIVE,
        current.end_source if operator_end else None,
        current.source_version,
    )
    if same_terms(current, target):
        return None
    rewrites = []
    if was.currency != terms.currency:
        rewrites.append(f"currency {was.currency} → {terms.currency}")
    if was.starting_at != terms.starting_at:
        rewrites.append(f"start {was.starting_at.isoformat()} → {terms.starting_at.isoformat()}")
    if rewrites and started(current, at) and not accept_change:
        raise ChangeNeedsApproval(
            f"contract {current.id} has started ({was.starting_at.isoformat()}); the change "
            f"({', '.join(rewrites)}) would rewrite billed history, so it is not applied. If it "
            "is right, apply it with `sfsync dlq retry ID --accept-change`"
        )
    if current.status is not ContractStatus.ACTIVE:
        kind = RevisionKind.REACTIVATED
    elif current.customer_id != customer_id:
        kind = RevisionKind.MOVED
    else:
        kind = RevisionKind.TERMS_EDITED
    return target, kind


def plan_end(current: ContractRow, at: datetime) -> tuple[ContractRow, RevisionKind] | None:
    """The contract after its deal stopped counting at `at`; None if it already had."""
    if current.status is not ContractStatus.ACTIVE:
        return None
    if not started(current, at):
        return replace(current, status=ContractStatus.ARCHIVED), RevisionKind.ARCHIVED
    end = current.terms.ending_before
    if (end is not None and end <= at) or current.end_source is EndSource.OPERATOR:
        return replace(current, status=ContractStatus.ENDED), RevisionKind.ENDED
    return (
        replace(
            current,
            terms=replace(current.terms, ending_before=at),
            status=ContractStatus.ENDED,
            end_source=EndSource.SYNC,
        ),
        RevisionKind.ENDED,
    )
