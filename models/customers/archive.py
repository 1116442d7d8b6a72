"""Archiving a customer, as the API's `customers/archive` names it.

The work is `models.customers.retirement.archive_customer` (aliases released, contracts
archived, no new work after); this returns the customer, as the endpoint needs.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from sfsync.models.customers import retirement as customer_lifecycle
from sfsync.models.customers.records import get_customer
from sfsync.models.tables import Customer

__all__ = ["archive_customer"]


def archive_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """Archive the customer (idempotent); returns it."""
    customer_lifecycle.archive_customer(session, customer_id)
    return get_customer(session, customer_id)
