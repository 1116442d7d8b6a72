"""Contracts: a period, an amount and a currency per customer (one per deal).

A contract's terms are one value, `models.contracts.terms.ContractTerms`, checked here by
`validate_terms` on every path into the store. Every change goes through the lifecycle
rules (`models.contracts.change_plans`) and leaves a revision (`models.contracts.revisions`)
in the same transaction.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sfsync.config.values import CURRENCY_CODE
from sfsync.models.contracts.change_plans import plan_end, plan_terms
from sfsync.models.contracts.revisions import Change, add_revision, terms_of
from sfsync.models.contracts.terms import ContractRow, ContractTerms, row_of
from sfsync.models.customers.fields import find_by_field, set_fields
from sfsync.models.customers.records import get_customer, validate_name
from sfsync.models.errors import CustomerArchived, InvalidInput, NotFound, UniqueFieldConflict
from sfsync.models.tables import Contract, CustomFieldValue
from sfsync.models.types import (
    MONEY_PRECISION,
    MONEY_SCALE,
    ContractStatus,
    CustomerStatus,
    EndSource,
    Entity,
    RevisionKind,
    in_utc,
    plain_decimal,
    utcnow,
)

__all__ = [
    "ContractOutcome",
    "HeldDeal",
    "any_contracts",
    "apply_terms",
    "billing_period",
    "contracts_by_key",
    "count_contracts",
    "create_contract",
    "end_contract",
    "get_contract",
    "iter_contracts",
    "list_contracts",
    "set_end_by_operator",
    "update_contract",
    "upsert_contract_by_field",
    "validate_terms",
]


class ContractOutcome(enum.StrEnum):
    """What writing a deal's terms did to its contract."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def validate_terms(terms: ContractTerms) -> ContractTerms:
    """Check a contract against the billing model's rules; raise `InvalidInput`."""
    name = validate_name(terms.name, "contract")
    if terms.starting_at.tzinfo is None:
        raise InvalidInput("starting_at must carry a timezone")
    in_utc(terms.starting_at, "starting_at")
    if terms.ending_before is not None:
        if terms.ending_before.tzinfo is None:
            raise InvalidInput("ending_before must carry a timezone")
        in_utc(terms.ending_before, "ending_before")
        if terms.ending_before <= terms.starting_at:
            raise InvalidInput(
                f"ending_before ({terms.ending_before.isoformat()}) must be after "
                f"starting_at ({terms.starting_at.isoformat()})"
            )
    amount = _valid_amount(terms.amount) if terms.amount is not None else None
    if not CURRENCY_CODE.fullmatch(terms.currency or ""):
        raise InvalidInput(
            "currency must be an ISO 4217 code of three upper-case letters "
            f"(got {terms.currency!r})"
        )
    return ContractTerms(name, terms.starting_at, terms.ending_before, amount, terms.currency)


def _shown(amount: Decimal) -> str:
    """The amount for a message: plain when short, else in exponent form (1E+999999999 in
    plain notation would be a billion digits)."""
    return f"{amount:f}" if abs(amount.adjusted()) <= 40 else f"{amount:E}"


def _valid_amount(amount: Decimal) -> Decimal:
    # Held to what NUMERIC(24, 6) stores exactly, so SQLite and PostgreSQL keep the same value
    # (PostgreSQL would round a seventh decimal silently).
    if not amount.is_finite():
        raise InvalidInput("amount must be a finite number")
    # Bounded before any arithmetic: 1e999999999 overflows the decimal context, and
    # 1e-999999999 would underflow to a silent zero.
    if not amount.is_zero() and amount.adjusted() >= MONEY_PRECISION - MONEY_SCALE:
        raise InvalidInput(
            f"amount {_shown(amount)} has more than {MONEY_PRECISION - MONEY_SCALE} digits "
            "before the point"
        )
    if not amount.is_zero() and amount.adjusted() < -MONEY_SCALE:
        raise InvalidInput(f"amount {_shown(amount)} has more than {MONEY_SCALE} decimal places")
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


def _write(contract: Contract, row: ContractRow) -> None:
    terms = row.terms
    contract.customer_id = row.customer_id
    contract.name = terms.name
    contract.starting_at = terms.starting_at
    contract.ending_before = terms.ending_before
    contract.amount = terms.amount
    contract.currency = terms.currency
    contract.status = row.status
    contract.end_source = row.end_source
    if row.source_version is not None:
        contract.source_version = row.source_version
    contract.updated_at = utcnow()


def create_contract(
    session: Session,
    customer_id: uuid.UUID,
    terms: ContractTerms,
    *,
    custom_fields: Mapping[str, str] | None = None,
    change: Change | None = None,
) -> Contract:
    """A new active contract, with its `created` revision (cause: `change`, else an operator)."""
    terms = validate_terms(terms)
    customer = get_customer(session, customer_id)
    if customer.status is not CustomerStatus.ACTIVE:
        raise CustomerArchived(customer_id, customer.merged_into)
    change = change or Change("created by an operator")
    contract = Contract(
        customer_id=customer_id,
        name=terms.name,
        starting_at=terms.starting_at,
        ending_before=terms.ending_before,
        amount=terms.amount,
        currency=terms.currency,
        status=ContractStatus.ACTIVE,
        source_version=change.source_version,
    )
    with session.begin_nested():
        session.add(contract)
        session.flush()
        set_fields(session, Entity.CONTRACT, contract.id, dict(custom_fields or {}))
        add_revision(session, contract, RevisionKind.CREATED, None, change)
    return contract


def update_contract(
    session: Session,
    contract_id: uuid.UUID,
    terms: ContractTerms,
    *,
    change: Change | None = None,
    accept_change: bool = False,
) -> ContractOutcome:
    """Bring a contract to `terms` under its current customer (see `apply_terms`)."""
    contract = get_contract(session, contract_id)
    return apply_terms(
        session,
        contract,
        contract.customer_id,
        validate_terms(terms),
        change or Change("changed by an operator"),
        accept_change=accept_change,
    )


def apply_terms(
    session: Session,
    contract: Contract,
    customer_id: uuid.UUID,
    terms: ContractTerms,
    change: Change,
    *,
    accept_change: bool = False,
) -> ContractOutcome:
    """Give the contract its deal's terms and owner by the lifecycle rules, with a revision.

    Raises `ChangeNeedsApproval` (nothing changed) for a currency change or a moved start
    on a started contract, unless `accept_change`.
    """
    current = row_of(contract)
    plan = plan_terms(
        current,
        customer_id,
        terms,
        at=change.source_version or utcnow(),
        accept_change=accept_change,
    )
    if plan is None:
        return ContractOutcome.UNCHANGED
    target, kind = plan
    _write(contract, replace(target, source_version=change.source_version))
    add_revision(session, contract, kind, terms_of(current), change)
    return ContractOutcome.UPDATED


def upsert_contract_by_field(
    session: Session,
    customer_id: uuid.UUID,
    key: str,
    value: str,
    terms: ContractTerms,
    *,
    change: Change | None = None,
    accept_change: bool = False,
) -> tuple[Contract, ContractOutcome]:
    """Create the contract whose unique custom field `key` is `value`, or bring it up to date
    (and under `customer_id`) by the lifecycle rules (`apply_terms`).

    Two writers racing on the same value cannot both create: the unique index refuses the
    second, which then updates the winner's contract.
    """
    terms = validate_terms(terms)
    change = change or Change("changed by an operator")
    existing = find_by_field(session, Entity.CONTRACT, key, value)
    if existing is None:
        try:
            contract = create_contract(
                session, customer_id, terms, custom_fields={key: value}, change=change
            )
            return contract, ContractOutcome.CREATED
        except UniqueFieldConflict as conflict:
            if conflict.holder_id is None:
                raise
            existing = conflict.holder_id
    contract = get_contract(session, existing)
    return contract, apply_terms(
        session, contract, customer_id, terms, change, accept_change=accept_change
    )


def end_contract(session: Session, contract_id: uuid.UUID, at: datetime, change: Change) -> bool:
    """The contract's deal stopped counting at `at`: ended or archived (`plan_end`), with a
    revision; False if it already was."""
    contract = get_contract(session, contract_id)
    current = row_of(contract)
    plan = plan_end(current, at)
    if plan is None:
        return False
    target, kind = plan
    _write(contract, replace(target, source_version=change.source_version))
    add_revision(session, contract, kind, terms_of(current), change)
    return True


def set_end_by_operator(
    session: Session, contract_id: uuid.UUID, ending_before: datetime, cause: str
) -> Contract:
    """An operator's end date: kept by every later sync, re-win included."""
    contract = get_contract(session, contract_id)
    current = row_of(contract)
    validate_terms(replace(current.terms, ending_before=ending_before))
    before = terms_of(current)
    kind = RevisionKind.ENDED
    contract.ending_before = ending_before
    contract.end_source = EndSource.OPERATOR
    contract.updated_at = utcnow()
    add_revision(session, contract, kind, before, Change(cause))
    return contract


def billing_period(
    contract: Contract, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime, datetime | None]:
    """[start, end) narrowed to the period the contract bills, from its start to its end
    (None: open-ended); an archived (void) contract bills nothing: an empty period."""
    lower = max(start, contract.starting_at) if start else contract.starting_at
    if contract.status is ContractStatus.ARCHIVED:
        return lower, lower
    upper = end
    if contract.ending_before is not None:
        upper = min(upper, contract.ending_before) if upper else contract.ending_before
    return lower, max(lower, upper) if upper is not None else None


def get_contract(session: Session, contract_id: uuid.UUID) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    return contract


@dataclass(frozen=True)
class HeldDeal:
    """What reconciliation needs of a contract held for a deal."""

    contract_id: uuid.UUID
    status: ContractStatus
    source_version: datetime | None


def contracts_by_key(session: Session, key: str) -> dict[str, HeldDeal]:
    """Every contract that has a value for unique key `key`: value → its state."""
    rows = session.execute(
        select(CustomFieldValue.value, Contract.id, Contract.status, Contract.source_version)
        .join(Contract, Contract.id == CustomFieldValue.entity_id)
        .where(CustomFieldValue.entity == Entity.CONTRACT, CustomFieldValue.key == key)
    )
    return {value: HeldDeal(i, status, stamp) for value, i, status, stamp in rows}


def any_contracts(session: Session) -> bool:
    """Whether the store holds any contract at all."""
    return session.scalar(select(Contract.id).limit(1)) is not None


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
