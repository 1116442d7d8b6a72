"""Which customer a stored usage event belongs to: stored, or derived from the alias table.

`usage_events.customer_id` holds the attribution written at insert time (the key was known
then) or by the pending sweep. When it is NULL the event's customer is *derived* at read
time from the current alias table, by the one rule every path uses: a key that is an active
customer's id (canonical text form) names that customer; otherwise the alias's owner.

Why derived: a retroactive attach used to rewrite every event keyed on the alias in the
attach's transaction (100,000 events: 1.7-2.9 s on PostgreSQL, a new row version and two
index entries each). Now an attach writes the alias row only, and its events are the
owner's the moment it commits; the pending sweep later writes the derived customer into the
rows in batches (`models.usage.events.resolve_pending`, unchanged), which keeps the partial pending
index small. The rules that keep this exact:

- a stored customer is always the key's current owner: moves and merges rewrite the stored
  rows of a moved alias (`models.aliases`), releases clear them; rows still NULL need
  nothing, they follow the alias table by construction;
- so `coalesce(stored, derived)` is what the store held before this design after a sweep,
  with no window in between: an event committed while its alias is being attached is
  attributed as soon as both commit, with no sweep needed;
- an alias that had no owner has no event with a stored customer (a release clears them in
  its transaction, and nothing else deletes an alias), so its attach rewrites no event;
- readers never look at `customer_id` alone: events shown or searched and the pending
  counts go through `attributed_customer` / `is_pending` here (`coalesce` evaluates its
  arguments lazily on both backends, so a stored row costs no look-up); a summary finds the
  keys whose unswept events `derived_customer` gives it first, so its own statement has no
  per-row sub-query (`models.usage.summary`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Uuid, and_, case, cast, func, select
from sqlalchemy.orm import Session, aliased

from sfsync.models.dialect import is_postgres
from sfsync.models.sql import sqlite
from sfsync.models.tables import Customer, IngestAlias, UsageEvent
from sfsync.models.types import CustomerStatus

__all__ = [
    "attributed_customer",
    "derived_customer",
    "is_pending",
]

# A customer's id in the canonical text form `customer_id_of_key` accepts (lower-case hex).
_CANONICAL_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _named_customer(session: Session) -> ColumnElement[Any]:
    named = aliased(Customer, name="named")
    key = UsageEvent.customer_key
    if is_postgres(session):
        active = named.status == CustomerStatus.ACTIVE
        # The cast only runs on a key of the canonical form (CASE guards it), and compares
        # uuid to uuid so the primary key index serves the look-up.
        lookup = (
            select(named.id)
            .where(named.id == cast(key, Uuid), active)
            .correlate(UsageEvent)
            .scalar_subquery()
        )
        return case((key.op("~")(_CANONICAL_UUID), lookup), else_=None)
    named_by_key = sqlite.key_names_customer("usage_events", "named")
    return select(named.id).where(named_by_key).correlate(UsageEvent).scalar_subquery()


def _alias_owner() -> ColumnElement[Any]:
    return (
        select(IngestAlias.customer_id)
        .where(IngestAlias.alias == UsageEvent.customer_key)
        .correlate(UsageEvent)
        .scalar_subquery()
    )


def derived_customer(session: Session) -> ColumnElement[uuid.UUID | None]:
    """The customer the alias table gives a `usage_events` row's key (None: nobody)."""
    return func.coalesce(_named_customer(session), _alias_owner(), type_=Uuid)


def attributed_customer(session: Session) -> ColumnElement[uuid.UUID | None]:
    """A `usage_events` row's customer: the stored one, else the derived one."""
    return func.coalesce(
        UsageEvent.customer_id, _named_customer(session), _alias_owner(), type_=Uuid
    )


def is_pending(session: Session) -> ColumnElement[bool]:
    """A `usage_events` row nobody owns. `customer_id IS NULL` is spelt out so the partial
    pending index serves it."""
    return and_(UsageEvent.customer_id.is_(None), derived_customer(session).is_(None))
