"""Customer listings with filters, paged by id (ids are time-ordered UUIDv7s)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfsync.models.customers.fields import field_value
from sfsync.models.keys import canonical_key
from sfsync.models.tables import Customer, CustomFieldValue, IngestAlias
from sfsync.models.types import Entity

__all__ = ["CustomerFilter", "page_customers"]


@dataclass(frozen=True)
class CustomerFilter:
    """What a listing keeps; empty filters keep every (active or archived) customer."""

    customer_ids: Sequence[uuid.UUID] = ()
    ingest_alias: str | None = None
    #: (key, values): customers whose custom field `key` holds one of `values`.
    field_values: tuple[str, Sequence[str]] | None = None
    archived: bool = False


def page_customers(
    session: Session, where: CustomerFilter, *, after: uuid.UUID | None, limit: int
) -> tuple[list[Customer], uuid.UUID | None]:
    """One page of customers in id order, and the id to continue after (None: last page)."""
    query = select(Customer).order_by(Customer.id).limit(limit + 1)
    if where.archived:
        query = query.where(Customer.archived_at.is_not(None))
    else:
        query = query.where(Customer.archived_at.is_(None))
    if where.customer_ids:
        query = query.where(Customer.id.in_(list(where.customer_ids)))
    if where.ingest_alias is not None:
        query = query.where(
            Customer.id.in_(
                select(IngestAlias.customer_id).where(
                    IngestAlias.alias == canonical_key(where.ingest_alias)
                )
            )
        )
    if where.field_values is not None:
        key, values = where.field_values
        query = query.where(
            Customer.id.in_(
                select(CustomFieldValue.entity_id).where(
                    CustomFieldValue.entity == Entity.CUSTOMER,
                    CustomFieldValue.key == key,
                    CustomFieldValue.value.in_([field_value(key, v) for v in values]),
                )
            )
        )
    if after is not None:
        query = query.where(Customer.id > after)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None
