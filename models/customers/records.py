"""Customers: created with their aliases and custom fields in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.fields import find_by_field, set_fields
from sfsync.models.errors import InvalidInput, NotFound
from sfsync.models.keys import canonical_key
from sfsync.models.storable import UNSTORABLE_TEXT, is_storable
from sfsync.models.tables import MAX_NAME, Customer, IngestAlias, UsageEvent
from sfsync.models.types import Entity, new_id, utcnow

__all__ = [
    "attribute_own_id",
    "count_customers",
    "create_customer",
    "find_customer",
    "get_customer",
    "iter_customers",
    "list_customers",
    "rename_customer",
    "validate_name",
]


def validate_name(name: str, what: str = "customer") -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"a {what} name has 1 to {MAX_NAME} characters")
    if not is_storable(name):
        raise InvalidInput(f"a {what} name {UNSTORABLE_TEXT}")
    return name


def create_customer(
    session: Session,
    name: str,
    *,
    aliases: Iterable[str] = (),
    custom_fields: Mapping[str, str] | None = None,
    customer_id: uuid.UUID | None = None,
) -> Customer:
    """Create a customer with its aliases and custom fields, all or nothing.

    A unique custom field value held by another customer raises `UniqueFieldConflict`; an
    alias held by another customer raises `AliasConflict`.
    """
    customer = Customer(id=customer_id or new_id(), name=validate_name(name))
    with session.begin_nested():
        session.add(customer)
        try:
            session.flush()
        except IntegrityError as exc:
            raise InvalidInput(f"customer {customer.id} cannot be created") from exc
        set_fields(session, Entity.CUSTOMER, customer.id, dict(custom_fields or {}))
        add_aliases(session, customer.id, aliases)
        attribute_own_id(session, customer.id)
    return customer


def attribute_own_id(session: Session, customer_id: uuid.UUID) -> None:
    """Usage keyed on the customer's own id belongs to it."""
    session.execute(
        update(UsageEvent)
        .where(UsageEvent.customer_key == str(customer_id), UsageEvent.customer_id.is_(None))
        .values(customer_id=customer_id)
        .execution_options(synchronize_session=False)
    )


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


def find_customer(
    session: Session,
    *,
    customer_id: uuid.UUID | None = None,
    alias: str | None = None,
    field: tuple[str, str] | None = None,
) -> Customer | None:
    """Find a customer by id, by an alias, or by a (unique) custom field value."""
    if customer_id is not None:
        return session.get(Customer, customer_id)
    if alias is not None:
        owner = session.scalar(
            select(IngestAlias.customer_id).where(IngestAlias.alias == canonical_key(alias))
        )
        return session.get(Customer, owner) if owner else None
    if field is not None:
        holder = find_by_field(session, Entity.CUSTOMER, field[0], field[1])
        return session.get(Customer, holder) if holder else None
    raise InvalidInput("find a customer by id, alias or custom field")


def rename_customer(session: Session, customer: Customer, name: str) -> bool:
    """Rename; returns whether the name changed."""
    name = validate_name(name)
    if customer.name == name:
        return False
    customer.name = name
    customer.updated_at = utcnow()
    session.flush()
    return True


def _customers_query(name: str | None, archived: bool | None) -> Select[tuple[Customer]]:
    query = select(Customer)
    if name:
        query = query.where(func.lower(Customer.name).contains(name.lower(), autoescape=True))
    if archived is not None:
        query = query.where(
            Customer.archived_at.is_not(None) if archived else Customer.archived_at.is_(None)
        )
    return query


def list_customers(
    session: Session,
    *,
    limit: int | None = 1000,
    offset: int = 0,
    name: str | None = None,
    archived: bool | None = None,
) -> list[Customer]:
    return list(iter_customers(session, limit=limit, offset=offset, name=name, archived=archived))


def iter_customers(
    session: Session,
    *,
    limit: int | None = None,
    offset: int = 0,
    name: str | None = None,
    archived: bool | None = None,
) -> Iterator[Customer]:
    """Customers oldest first, fetched in chunks (a name substring, archived or not)."""
    query = _customers_query(name, archived).order_by(Customer.created_at, Customer.id)
    query = query.limit(limit).offset(offset).execution_options(yield_per=500)
    yield from session.scalars(query)


def count_customers(
    session: Session, *, name: str | None = None, archived: bool | None = None
) -> int:
    query = _customers_query(name, archived).with_only_columns(func.count()).select_from(Customer)
    return session.scalar(query.order_by(None)) or 0
