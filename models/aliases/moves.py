"""The alias moves' audit: each alias a sync or an operator moved or released, and why.

A move is written in the transaction that makes it (`record_moves`), so the history never
disagrees with the aliases: an alias re-parented with its account, detached (released: its
usage pending again), merged into a survivor, or released by archiving its customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from sfsync.models.tables import AliasMove
from sfsync.models.types import AliasMoveReason

__all__ = ["count_moves", "list_moves", "record_moves", "released_from"]


def record_moves(
    session: Session,
    moves: Mapping[str, tuple[uuid.UUID | None, uuid.UUID | None, str | None]],
    reason: AliasMoveReason,
) -> None:
    """Keep a record of aliases a sync moved: alias → (from, to (None: released), account)."""
    if moves:
        session.add_all(
            AliasMove(
                alias=alias,
                from_customer_id=from_id,
                to_customer_id=to_id,
                reason=reason,
                source_account_id=account,
            )
            for alias, (from_id, to_id, account) in moves.items()
        )
        session.flush()


def _filtered(
    query: Select[tuple[AliasMove]] | Select[tuple[int]],
    alias: str | None,
    customer_id: uuid.UUID | None,
) -> Select[tuple[AliasMove]] | Select[tuple[int]]:
    if alias is not None:
        query = query.where(AliasMove.alias == alias)
    if customer_id is not None:
        query = query.where(
            or_(AliasMove.from_customer_id == customer_id, AliasMove.to_customer_id == customer_id)
        )
    return query


def list_moves(
    session: Session,
    *,
    alias: str | None = None,
    customer_id: uuid.UUID | None = None,
    limit: int | None = None,
) -> Sequence[AliasMove]:
    """Moves of one alias, or to or from one customer, or all; newest first."""
    query = _filtered(select(AliasMove), alias, customer_id)
    query = query.order_by(AliasMove.moved_at.desc(), AliasMove.id.desc()).limit(limit)
    return session.scalars(query).all()


def count_moves(
    session: Session, *, alias: str | None = None, customer_id: uuid.UUID | None = None
) -> int:
    """How many moves `list_moves` would give without a limit."""
    query = _filtered(select(func.count()).select_from(AliasMove), alias, customer_id)
    return int(session.scalar(query) or 0)


def released_from(session: Session, aliases: Sequence[str], loser: str) -> set[str]:
    """Those of `aliases` ever released (moved to nobody) while recorded as from an account
    other than `loser`: values that came through its merge, whatever master held them."""
    if not aliases:
        return set()
    query = select(AliasMove.alias).where(
        AliasMove.alias.in_(aliases),
        AliasMove.to_customer_id.is_(None),
        AliasMove.source_account_id.is_not(None),
        AliasMove.source_account_id != loser,
    )
    return set(session.scalars(query))
