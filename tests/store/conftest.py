"""Factories for store tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sfsync.models import Store
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.records import create_customer
from sfsync.models.tables import UsageEvent

MakeCustomer = Callable[..., uuid.UUID]


@pytest.fixture
def make_customer(store: Store) -> MakeCustomer:
    """Create a customer in its own transaction and return its id."""
    counter = iter(range(1, 1_000_000))

    def make(name: str | None = None, **kwargs: Any) -> uuid.UUID:
        with store.session() as session:
            return create_customer(session, name or f"Customer {next(counter)}", **kwargs).id

    return make


def spec(**overrides: Any) -> ContractTerms:
    values: dict[str, Any] = {
        "name": "Annual plan",
        "starting_at": datetime(2026, 1, 1, tzinfo=UTC),
        "ending_before": datetime(2027, 1, 1, tzinfo=UTC),
        "amount": Decimal("12000.50"),
        "currency": "USD",
    }
    values.update(overrides)
    return ContractTerms(**values)


@pytest.fixture
def add_events(store: Store) -> Callable[..., None]:
    """Store raw usage events keyed on `key` (the ingest path is not needed for alias rules)."""
    counter = iter(range(1, 10_000_000))

    def add(key: str, count: int = 1) -> None:
        with store.session() as session:
            for _ in range(count):
                session.add(
                    UsageEvent(
                        transaction_id=f"tx-{next(counter)}",
                        customer_key=key,
                        event_type="api_call",
                        timestamp=datetime(2026, 11, 20, tzinfo=UTC),
                        properties={},
                    )
                )

    return add
