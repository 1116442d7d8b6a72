"""Archiving a customer: kept for audit, its aliases released, its contracts archived.

Releasing the aliases makes usage keyed on them pending again, so another customer can take
them over (Metronome asks for the aliases to be removed before archiving; sfsync does it).
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.orm import Session

from models.aliases import aliases_of, remove_aliases
from models.customers import get_customer
from models.tables import Contract, Customer
from models.types import ContractStatus, utcnow


def archive_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """Archive the customer (idempotent); returns it."""
    customer = get_customer(session, customer_id)
    if customer.archived_at is not None:
        return customer
    remove_aliases(session, customer_id, aliases_of(session, customer_id))
    session.execute(
        update(Contract)
        .where(Contract.customer_id == customer_id)
        .values(status=ContractStatus.ARCHIVED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    customer.archived_at = customer.updated_at = utcnow()
    session.flush()
    return customer
