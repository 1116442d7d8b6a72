"""A contract's lifecycle as its deal changes after the close: the rules, over plain rows.

Both the per-deal path (`models.contracts`) and the set-based one (`sync.provision_batch`,
`sync.lifecycle`) decide with these functions, so a deal ends up the same either way:

- the deal's terms (won, won again, edited, moved to another account) → `plan_terms`:
  the contract takes them and is `active`; an end an operator set stays; a currency change
  or a moved start on a contract that has started raises `ChangeNeedsApproval` unless the
  operator accepted it;
- the deal no longer won, or deleted, at instant `at` (its SystemModstamp) → `plan_end`:
  started contracts are `ended` with `ending_before` at `at` (an earlier end is never
  moved), contracts not yet started are `archived` (void).

"Started" is judged at the change's own instant, so the outcome follows Salesforce's
records and not the moment a sync happens to run.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from models.bulk import ContractRow
from models.errors import ChangeNeedsApproval
from models.types import ContractStatus, EndSource, RevisionKind

__all__ = ["plan_end", "plan_terms", "same_terms", "started"]


def started(row: ContractRow, at: datetime) -> bool:
    """Whether the contract had begun (and so may have been billed) at `at`."""
    return row.status is not ContractStatus.ARCHIVED and row.starting_at < at


def same_terms(a: ContractRow, b: ContractRow) -> bool:
    """Equal in everything a revision records (amounts compared as numbers)."""

    def key(row: ContractRow) -> tuple[object, ...]:
        return (
            row.customer_id,
            row.name,
            row.starting_at,
            row.ending_before,
            row.amount,
            row.currency,
            row.status,
            row.end_source,
        )

    return key(a) == key(b)


def plan_terms(
    current: ContractRow,
    customer_id: uuid.UUID,
    name: str,
    starting_at: datetime,
    ending_before: datetime | None,
    amount: Decimal | None,
    currency: str,
    *,
    at: datetime,
    accept_change: bool = False,
) -> tuple[ContractRow, RevisionKind] | None:
    """The contract after its deal's current terms, and the kind of change; None if none.

    Raises `ChangeNeedsApproval` for a currency change or a moved start on a started
    contract, unless `accept_change`.
    """
    operator_end = current.end_source is EndSource.OPERATOR
    target = replace(
        current,
        customer_id=customer_id,
        name=name,
        starting_at=starting_at,
        ending_before=current.ending_before if operator_end else ending_before,
        amount=amount,
        currency=currency,
        status=ContractStatus.ACTIVE,
        end_source=current.end_source if operator_end else None,
    )
    if same_terms(current, target):
        return None
    rewrites = []
    if current.currency != currency:
        rewrites.append(f"currency {current.currency} → {currency}")
    if current.starting_at != starting_at:
        rewrites.append(f"start {current.starting_at.isoformat()} → {starting_at.isoformat()}")
    if rewrites and started(current, at) and not accept_change:
        raise ChangeNeedsApproval(
            f"contract {current.id} has started ({current.starting_at.isoformat()}); the change "
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
    already_over = current.ending_before is not None and current.ending_before <= at
    if already_over or current.end_source is EndSource.OPERATOR:
        return replace(current, status=ContractStatus.ENDED), RevisionKind.ENDED
    return (
        replace(current, status=ContractStatus.ENDED, ending_before=at, end_source=EndSource.SYNC),
        RevisionKind.ENDED,
    )
