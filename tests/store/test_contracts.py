"""Contracts keep their period, amount and currency rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sfsync.models import Entity, InvalidInput, NotFound, Store
from sfsync.models.contracts.records import (
    ContractOutcome,
    create_contract,
    list_contracts,
    update_contract,
    upsert_contract_by_field,
)
from sfsync.models.customers.fields import get_fields
from tests.store.conftest import MakeCustomer, spec
from tests.unit.factories import AWKWARD_AMOUNTS


def test_contract_round_trips_exact_decimal_and_aware_times(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Amounts come back as exact Decimals and times as aware UTC datetimes."""
    cid = make_customer()
    with store.session() as s:
        create_contract(s, cid, spec(amount=Decimal("1234567.89")))
    with store.session() as s:
        (contract,) = list_contracts(s, cid)
    assert contract.amount == Decimal("1234567.89")
    assert contract.starting_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert contract.starting_at.tzinfo is not None


@pytest.mark.parametrize(("given", "plain"), AWKWARD_AMOUNTS)
def test_amounts_read_back_in_plain_notation_on_every_backend(
    store: Store, make_customer: MakeCustomer, given: str, plain: str
) -> None:
    """A stored amount reads back as the same plain decimal string (no exponent, no padding)."""
    cid = make_customer()
    with store.session() as s:
        created = create_contract(s, cid, spec(amount=Decimal(given)))
        assert str(created.amount) == plain
    with store.session() as s:
        (contract,) = list_contracts(s, cid)
    assert contract.amount == Decimal(given)
    assert str(contract.amount) == plain


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0.0000001", r"amount 0\.0000001 has more than 6 decimal places"),
        ("1E+18", "amount 1000000000000000000 has more than 18 digits"),
        ("1.00000000000000000000000000001", "more than 6 decimal places"),
    ],
)
def test_amounts_beyond_what_both_backends_hold_exactly_are_refused(
    store: Store, make_customer: MakeCustomer, amount: str, message: str
) -> None:
    """An amount PostgreSQL's NUMERIC(24, 6) would round or refuse is refused on every backend."""
    cid = make_customer()
    with pytest.raises(InvalidInput, match=message), store.session() as s:
        create_contract(s, cid, spec(amount=Decimal(amount)))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ending_before": datetime(2025, 1, 1, tzinfo=UTC)}, "after starting_at"),
        ({"ending_before": datetime(2026, 1, 1, tzinfo=UTC)}, "after starting_at"),
        ({"amount": Decimal("-1")}, "negative"),
        ({"currency": "usd"}, "ISO 4217"),
        ({"currency": "EURO"}, "ISO 4217"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_contracts_are_refused(
    store: Store, make_customer: MakeCustomer, overrides: dict[str, object], message: str
) -> None:
    """Each contract rule refuses a bad value with a message that names it."""
    cid = make_customer()
    with pytest.raises(InvalidInput, match=message), store.session() as s:
        create_contract(s, cid, spec(**overrides))


def test_open_ended_contract_is_allowed(store: Store, make_customer: MakeCustomer) -> None:
    """A contract without ending_before is open-ended."""
    cid = make_customer()
    with store.session() as s:
        c = create_contract(s, cid, spec(ending_before=None, amount=None))
    assert c.ending_before is None


def test_database_refuses_period_in_wrong_order_on_its_own(
    store: Store, make_customer: MakeCustomer
) -> None:
    """The period rule is a CHECK constraint, not only a Python check."""
    cid = make_customer()
    with store.session() as s:
        c = create_contract(s, cid, spec())
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            text("UPDATE contracts SET ending_before = starting_at WHERE id = :id"),
            {"id": c.id.hex if store.dialect == "sqlite" else c.id},
        )


def test_contract_for_unknown_customer_is_not_found(store: Store) -> None:
    """A contract needs an existing customer."""
    with pytest.raises(NotFound), store.session() as s:
        create_contract(s, uuid.uuid4(), spec())


def test_upsert_by_opportunity_id_creates_updates_and_leaves_unchanged(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Upserting by sfdc_opportunity_id is idempotent and detects changes."""
    cid = make_customer()
    with store.session() as s:
        c1, o1 = upsert_contract_by_field(s, cid, "sfdc_opportunity_id", "006A", spec())
        _, o2 = upsert_contract_by_field(s, cid, "sfdc_opportunity_id", "006A", spec())
        _, o3 = upsert_contract_by_field(
            s, cid, "sfdc_opportunity_id", "006A", spec(amount=Decimal("99"))
        )
    assert (o1, o2, o3) == (
        ContractOutcome.CREATED,
        ContractOutcome.UNCHANGED,
        ContractOutcome.UPDATED,
    )
    with store.session() as s:
        (contract,) = list_contracts(s, cid)
        assert contract.amount == Decimal("99")
        assert get_fields(s, Entity.CONTRACT, c1.id) == {"sfdc_opportunity_id": "006A"}


def test_update_contract_reports_unchanged_for_equal_amounts(
    store: Store, make_customer: MakeCustomer
) -> None:
    """12000.50 and 12000.5 are the same amount."""
    cid = make_customer()
    with store.session() as s:
        c = create_contract(s, cid, spec(amount=Decimal("12000.50")))
    with store.session() as s:
        assert (
            update_contract(s, c.id, spec(amount=Decimal("12000.5"))) is ContractOutcome.UNCHANGED
        )
