"""Which customer owns a tree: the root's customer found, created, revived or refused.

Applies `sync.claims.plan_owner` to the store. Both the deal path (`sync.provision`) and a
Salesforce merge (`sync.merges.absorb_merged_account`) find the owner of a tree here, so
neither depends on the other.

Every uniqueness rule is held by the store's constraints, so two workers provisioning the
same account at once end with one customer: the loser of the race reads the winner's row.

Errors (the store's, from `models.errors`)::

    CustomerArchived
     └── AccountArchived    the deal's account belongs to a customer archived by hand
"""

from __future__ import annotations

import uuid
from collections.abc import Set
from typing import NamedTuple

from sqlalchemy.orm import Session

from sfsync.models import CustomerArchived, Entity, UniqueFieldConflict
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for, find_by_field
from sfsync.models.customers.records import create_customer
from sfsync.models.customers.retirement import active_customer, lock_customers, revive_customer
from sfsync.models.tables import Customer
from sfsync.models.types import CustomerStatus
from sfsync.sync.claims import Owner, OwnState, plan_owner

__all__ = ["AccountArchived", "Found", "find_or_create_customer", "own_state"]


class Found(NamedTuple):
    """The customer a deal's account gives, and how."""

    customer: Customer
    created: bool
    #: The account's own customer (not the survivor of one merged into another), which
    #: carries the account's name.
    own: bool


def find_or_create_customer(
    session: Session,
    account_id: str,
    name: str,
    tree: Set[str] | None = None,
    *,
    may_revive: bool = False,
) -> Found:
    """The customer that owns the tree of root account `account_id`, created if none.

    `sync.claims.plan_owner` decides over `tree` (the root's accounts as they now stand;
    default: the account alone): one merged into another gives its survivor, unless
    `may_revive` (the caller read the hierarchy just now) and the survivor's account is not
    in the tree (an acquisition undone, the survivor's account merged away): then it is
    revived; one archived by hand raises `AccountArchived`, so a deal cannot land on a
    customer a merge just emptied. An existing customer is locked and read under the lock.
    """
    holder = find_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account_id)
    if holder is None:
        try:
            customer = create_customer(session, name, custom_fields={SFDC_ACCOUNT_ID: account_id})
        except UniqueFieldConflict as conflict:
            # Another worker created it between our look-up and our insert.
            if conflict.holder_id is None:
                raise
            holder = conflict.holder_id
        else:
            return Found(customer, created=True, own=True)
    state = own_state(session, holder)
    plan = plan_owner(tree if tree is not None else {account_id}, state, may_revive=may_revive)
    if plan.how is Owner.REVIVE:
        revive_customer(session, holder)
    active = _active(holder, account_id, session)
    return Found(active, created=False, own=active.id == holder)


def own_state(session: Session, customer_id: uuid.UUID) -> OwnState:
    """A customer's state as `sync.claims.plan_owner` reads it (locked)."""
    customer = lock_customers(session, [customer_id])[customer_id]
    survivor = customer.merged_into
    if survivor is None:
        return OwnState(customer_id, customer.status is CustomerStatus.ACTIVE)
    account = fields_for(session, Entity.CUSTOMER, [survivor]).get(survivor, {})
    head = session.get(Customer, survivor)
    return OwnState(
        customer_id,
        customer.status is CustomerStatus.ACTIVE,
        survivor,
        account.get(SFDC_ACCOUNT_ID),
        head is not None and head.status is CustomerStatus.ACTIVE,
    )


def _active(customer_id: uuid.UUID, account_id: str, session: Session) -> Customer:
    try:
        return active_customer(session, customer_id)
    except CustomerArchived as exc:
        raise AccountArchived(exc, account_id) from exc


class AccountArchived(CustomerArchived):
    """The deal's account belongs to a customer archived by hand."""

    def __init__(self, archived: CustomerArchived, account_id: str) -> None:
        super().__init__(archived.customer_id, archived.merged_into)
        self.args = (
            f"account {account_id} belongs to customer {archived.customer_id}, which is "
            "archived: it takes no new contracts. Un-archive is not offered; discard this "
            "letter, or move the opportunity to an active account in Salesforce and replay",
        )
