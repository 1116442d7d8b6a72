"""Rows written and read as one JSON document are the rows the ORM writes and reads."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfsync.models import Entity, Store
from sfsync.models.contracts.bulk import contracts_by_id, insert_contracts, update_contracts
from sfsync.models.contracts.terms import ContractRow, ContractTerms
from sfsync.models.customers.bulk import claim_field_values, insert_customers
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, find_many_by_field
from sfsync.models.tables import Contract, Customer
from sfsync.models.types import ContractStatus, new_id
from tests.store.conftest import MakeCustomer


def contract_row(
    customer: uuid.UUID, id: uuid.UUID | None = None, **overrides: object
) -> ContractRow:
    values: dict[str, object] = {
        "name": "Annual plan — ünïcode",
        "starting_at": datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=UTC),
        "ending_before": None,
        "amount": Decimal("12000.500000"),
        "currency": "EUR",
    }
    values.update(overrides)
    return ContractRow(id or new_id(), customer, ContractTerms(**values))  # type: ignore[arg-type]


def test_inserted_contracts_read_back_through_the_orm_unchanged(
    store: Store, make_customer: MakeCustomer
) -> None:
    """Ids, aware datetimes, decimals, text and the default status survive the JSON path."""
    customer = make_customer()
    rows = [contract_row(customer), contract_row(customer, amount=None, name="b")]
    with store.session() as s:
        insert_contracts(s, rows)
    with store.session() as s:
        stored = {c.id: c for c in s.scalars(select(Contract))}
    for row in rows:
        got = stored[row.id]
        terms = row.terms
        assert (got.customer_id, got.name, got.currency) == (customer, terms.name, terms.currency)
        assert got.starting_at == terms.starting_at and got.starting_at.tzinfo is not None
        assert got.amount == (terms.amount.normalize() if terms.amount is not None else None)
        assert got.status is ContractStatus.ACTIVE


def test_updated_contracts_compare_equal_when_read_back_in_bulk(
    store: Store, make_customer: MakeCustomer
) -> None:
    """An update through the JSON path is what `contracts_by_id` then reads."""
    customer = make_customer()
    row = contract_row(customer)
    with store.session() as s:
        insert_contracts(s, [row])
    changed = contract_row(
        customer,
        id=row.id,
        amount=Decimal("1.5"),
        ending_before=datetime(2027, 1, 1, tzinfo=UTC),
    )
    with store.session() as s:
        update_contracts(s, [changed])
    with store.session() as s:
        (got,) = contracts_by_id(s, [row.id]).values()
    assert got.terms.amount == Decimal("1.5")
    assert got.terms.ending_before == datetime(2027, 1, 1, tzinfo=UTC)
    assert got.terms.starting_at == row.terms.starting_at


def test_a_claimed_value_is_found_by_the_unique_field_look_up(store: Store) -> None:
    """Customers inserted and claimed in bulk are found by their unique field, once each."""
    ids = {f"001{n:012d}AAA": new_id() for n in range(1_500)}  # more than any IN-list chunk
    with store.session() as s:
        insert_customers(s, {i: f"Customer {a}" for a, i in ids.items()})
        holders = claim_field_values(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, ids)
    assert holders == ids
    with store.session() as s:
        assert find_many_by_field(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, [*ids, "nope"]) == ids
        assert s.scalar(select(Customer.name).where(Customer.id == ids["001000000000007AAA"])) == (
            "Customer 001000000000007AAA"
        )


def test_new_ids_are_time_ordered_uuid7() -> None:
    """Row ids are version-7 UUIDs that sort in the order they were made (across ms)."""
    first = new_id()
    later = [new_id() for _ in range(2_000)]
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert all(first.bytes[:6] <= i.bytes[:6] for i in later)
    assert len({*later, first}) == 2_001


def test_a_reader_reads_while_a_writer_holds_its_transaction(
    store: Store, make_customer: MakeCustomer
) -> None:
    """`Store.reader` sees the last commit without waiting for an open write transaction."""
    committed = make_customer("Committed")
    done = threading.Event()
    seen: list[set[str]] = []

    def read() -> None:
        with store.reader() as r:
            seen.append(set(r.scalars(select(Customer.name))))
        done.set()

    with store.session() as writer:
        writer.add(Customer(id=new_id(), name="Uncommitted"))
        writer.flush()
        thread = threading.Thread(target=read)
        thread.start()
        finished = done.wait(timeout=10)
    thread.join()
    assert finished, "the reader waited for the writer"
    assert seen == [{"Committed"}]
    assert committed


@pytest.mark.parametrize("count", [0, 1])
def test_empty_and_single_batches_are_fine(store: Store, count: int) -> None:
    """Nothing to write writes nothing; one row is one row."""
    rows = {f"001{n:012d}BBB": new_id() for n in range(count)}
    with store.session() as s:
        insert_customers(s, {i: "C" for i in rows.values()})
        assert claim_field_values(s, Entity.CUSTOMER, SFDC_ACCOUNT_ID, rows) == rows
