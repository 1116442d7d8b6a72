"""Contracts: a period, an amount and a currency per customer (one per opportunity)."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.customers import get_customer, validate_name
from models.errors import CustomerArchived, InvalidInput, NotFound, UniqueFieldConflict
from models.fields import find_by_field, set_fields
from models.tables import Contract
from models.types import (
    MONEY_PRECISION,
    MONEY_SCALE,
    ContractStatus,
    CustomerStatus,
    Entity,
    plain_decimal,
    utcnow,
)

_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class ContractSpec:
    """What a contract says; compared to detect a change."""

    name: str
    starting_at: datetime
    ending_before: datetime | None = None
    amount: Decimal | None = None
    currency: str = "USD"


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def validate_spec(spec: ContractSpec) -> ContractSpec:
    """Check a contract against the billing model's rules; raise `InvalidInput`."""
    name = validate_name(spec.name, "contract")
    if spec.starting_at.tzinfo is None:
        raise InvalidInput("starting_at must carry a timezone")
    if spec.ending_before is not None:
        if spec.ending_before.tzinfo is None:
            raise InvalidInput("ending_before must carry a timezone")
        if spec.ending_before <= spec.starting_at:
            raise InvalidInput(
                f"ending_before ({spec.ending_before.isoformat()}) must be after "
                f"starting_at ({spec.starting_at.isoformat()})"
            )
    amount = _valid_amount(spec.amount) if spec.amount is not None else None
    if not _CURRENCY.fullmatch(spec.currency or ""):
        raise InvalidInput(
            f"currency must be an ISO 4217 code of three upper-case letters (got {spec.currency!r})"
        )
    return ContractSpec(name, spec.starting_at, spec.ending_before, amount, spec.currency)


def _valid_amount(amount: Decimal) -> Decimal:
    # Held to what NUMERIC(24, 6) stores exactly, so SQLite and PostgreSQL keep the same value
    # (PostgreSQL would round a seventh decimal silently).
    if not amount.is_finite():
        raise InvalidInput("amount must be a finite number")
    plain = plain_decimal(amount)
    if plain < 0:
        raise InvalidInput(f"amount must not be negative (got {plain:f})")
    exponent = plain.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if -exponent > MONEY_SCALE:
        raise InvalidInput(f"amount {plain:f} has more than {MONEY_SCALE} decimal places")
    if plain.adjusted() >= MONEY_PRECISION - MONEY_SCALE:
        raise InvalidInput(
            f"amount {plain:f} has more than {MONEY_PRECISION - MONEY_SCALE} digits "
            "before the point"
        )
    return plain


def spec_of(contract: Contract) -> ContractSpec:
    return ContractSpec(
        contract.name,
        contract.starting_at,
        contract.ending_before,
        contract.amount,
        contract.currency,
    )


def create_contract(
    session: Session,
    customer_id: uuid.UUID,
    spec: ContractSpec,
    *,
    custom_fields: Mapping[str, str] | None = None,
) -> Contract:
    spec = validate_spec(spec)
    customer = get_customer(session, customer_id)
    if customer.status is not CustomerStatus.ACTIVE:
        raise CustomerArchived(customer_id, customer.merged_into)
    contract = Contract(
        customer_id=customer_id,
        name=spec.name,
        starting_at=spec.starting_at,
        ending_before=spec.ending_before,
        amount=spec.amount,
        currency=spec.currency,
    )
    with session.begin_nested():
        session.add(contract)
        session.flush()
        set_fields(session, Entity.CONTRACT, contract.id, dict(custom_fields or {}))
    return contract


def update_contract(session: Session, contract_id: uuid.UUID, spec: ContractSpec) -> Outcome:
    contract = get_contract(session, contract_id)
    return _apply(session, contract, validate_spec(spec))


def _apply(session: Session, contract: Contract, spec: ContractSpec) -> Outcome:
    if spec_of(contract) == spec:
        return Outcome.UNCHANGED
    contract.name = spec.name
    contract.starting_at = spec.starting_at
    contract.ending_before = spec.ending_before
    contract.amount = spec.amount
    contract.currency = spec.currency
    contract.updated_at = utcnow()
    session.flush()
    return Outcome.UPDATED


def upsert_contract_by_field(
    session: Session, customer_id: uuid.UUID, key: str, value: str, spec: ContractSpec
) -> tuple[Contract, Outcome]:
    """Create the contract whose unique custom field `key` is `value`, or bring it up to date.

    Two writers racing on the same value cannot both create: the unique index refuses the
    second, which then updates the winner's contract.
    """
    spec = validate_spec(spec)
    existing = find_by_field(session, Entity.CONTRACT, key, value)
    if existing is None:
        try:
            contract = create_contract(session, customer_id, spec, custom_fields={key: value})
            return contract, Outcome.CREATED
        except UniqueFieldConflict as conflict:
            if conflict.holder_id is None:
                raise
            existing = conflict.holder_id
    contract = get_contract(session, existing)
    if contract.customer_id != customer_id:
        contract.customer_id = customer_id
        session.flush()
        _apply(session, contract, spec)
        return contract, Outcome.UPDATED
    return contract, _apply(session, contract, spec)


def get_contract(session: Session, contract_id: uuid.UUID) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    return contract


def _contracts_query(
    customer_id: uuid.UUID | None, status: ContractStatus | None, name: str | None
) -> Select[tuple[Contract]]:
    query = select(Contract)
    if customer_id is not None:
        query = query.where(Contract.customer_id == customer_id)
    if status is not None:
        query = query.where(Contract.status == status)
    if name:
        query = query.where(func.lower(Contract.name).contains(name.lower(), autoescape=True))
    return query


def list_contracts(session: Session, customer_id: uuid.UUID | None = None) -> list[Contract]:
    return list(iter_contracts(session, customer_id))


def iter_contracts(
    session: Session,
    customer_id: uuid.UUID | None = None,
    *,
    status: ContractStatus | None = None,
    name: str | None = None,
    limit: int | None = None,
) -> Iterator[Contract]:
    """Contracts by start, fetched in chunks (of a customer, with a status, a name substring)."""
    query = _contracts_query(customer_id, status, name).order_by(Contract.starting_at, Contract.id)
    yield from session.scalars(query.limit(limit).execution_options(yield_per=500))


def count_contracts(
    session: Session,
    customer_id: uuid.UUID | None = None,
    *,
    status: ContractStatus | None = None,
    name: str | None = None,
) -> int:
    query = _contracts_query(customer_id, status, name).with_only_columns(func.count())
    query = query.select_from(Contract)
    return session.scalar(query) or 0
