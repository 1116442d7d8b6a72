"""Provisioning a deal into the store: find-or-create the customer, attach its aliases,
upsert its contract — idempotent, all or nothing.

Every uniqueness rule is held by the store's constraints, so two workers provisioning the
same account at once end with one customer: the loser of the race reads the winner's row.

Errors (the store's, from `models.errors`)::

    CustomerArchived
     └── AccountArchived    the deal's account belongs to a customer archived by hand
"""

from __future__ import annotations

import uuid
from collections.abc import Set
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import AliasConflict, CustomerArchived, Entity, NotFound, UniqueFieldConflict
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.records import (
    ContractOutcome,
    get_contract,
    update_contract,
    upsert_contract_by_field,
)
from sfsync.models.contracts.revisions import SYNC, Change
from sfsync.models.customers.fields import (
    SFDC_ACCOUNT_ID,
    SFDC_OPPORTUNITY_ID,
    fields_for,
    find_by_field,
)
from sfsync.models.customers.records import create_customer, rename_customer
from sfsync.models.customers.retirement import active_customer, lock_customers, revive_customer
from sfsync.models.operations.deadletters import add_letter
from sfsync.models.operations.writebacks import enqueue
from sfsync.models.tables import Customer
from sfsync.models.types import CustomerStatus
from sfsync.sync.claims import Owner, OwnState, plan_owner
from sfsync.sync.errors import DealConflict
from sfsync.sync.mapping import Deal
from sfsync.sync.merges import claim_tree, overflow_letter

__all__ = [
    "AccountArchived",
    "Found",
    "Provisioned",
    "deal_change",
    "find_or_create_customer",
    "own_state",
    "provision_deal",
    "refresh_contract",
]


@dataclass(frozen=True)
class Provisioned:
    """What provisioning one deal changed."""

    customer_id: uuid.UUID
    customer_created: bool
    customer_renamed: bool
    aliases_added: int
    contract_id: uuid.UUID
    contract: ContractOutcome


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


def deal_change(deal: Deal, cause: str, run_id: int | None) -> Change:
    """Why a deal's contract changes: `cause`, at the deal's SystemModstamp, in run `run_id`."""
    return Change(cause, source_version=deal.system_modstamp, run_id=run_id)


def provision_deal(
    session: Session,
    deal: Deal,
    settings: Settings,
    *,
    change: Change = SYNC,
    accept_change: bool = False,
) -> Provisioned:
    """Apply one deal; on any error nothing of it is applied (savepoint).

    Its aliases are claimed as the account stream claims them (`sync.merges`): a customer
    whose account is now inside the deal's tree is merged into the deal's customer, an alias
    whose account moved into the tree moves; any other alias held elsewhere is a
    `DealConflict`. A currency change or a moved start on a started contract raises
    `ChangeNeedsApproval` unless `accept_change` (see `models.contracts.change_plans`).
    """
    with session.begin_nested():
        origins = deal.origins()
        tree = {deal.account_id, *(o.account_id for o in origins.values())}
        customer, created, own = find_or_create_customer(
            session, deal.account_id, deal.account_name, tree
        )
        # A survivor keeps its own account's name: the deal's root is an account whose
        # customer was merged into it, and whose tree holds the survivor's account.
        renamed = not created and own and rename_customer(session, customer, deal.account_name)
        ours = None if created else customer.id
        claim = claim_tree(session, customer.id, origins, tree, change=change)
        if claim.conflicts:
            first = claim.conflicts[0]
            raise DealConflict(AliasConflict(first.alias, first.holder_id), deal.account_id, ours)
        if claim.overflow:
            # The contract is provisioned all the same; what did not fit is one letter.
            add_letter(
                session, overflow_letter(customer.id, deal.account_id, claim.overflow, len(origins))
            )
        added = [*claim.added, *claim.moved]
        manual = [a for a in deal.aliases if a not in origins]
        if manual:  # a hand-made deal without origins: its aliases are attached as given
            try:
                added += add_aliases(session, customer.id, manual)
            except AliasConflict as conflict:
                raise DealConflict(conflict, deal.account_id, ours) from conflict
        contract, outcome = upsert_contract_by_field(
            session,
            customer.id,
            SFDC_OPPORTUNITY_ID,
            deal.opportunity_id,
            deal.contract,
            change=change,
            accept_change=accept_change,
        )
        if created and settings.sf_writeback_field:
            enqueue(session, deal.account_id, customer.id)
    return Provisioned(customer.id, created, renamed, len(added), contract.id, outcome)


def refresh_contract(
    session: Session, deal: Deal, *, change: Change = SYNC, accept_change: bool = False
) -> Provisioned:
    """Bring the contract of an already provisioned deal up to date, leaving its customer.

    For opportunities the store holds under their account's customer (the account's name and
    aliases are the account stream's to change); all or nothing (savepoint).
    """
    with session.begin_nested():
        contract_id = find_by_field(
            session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, deal.opportunity_id
        )
        if contract_id is None:
            raise NotFound(
                f"opportunity {deal.opportunity_id} has no contract any more; replay it to "
                "provision it in full"
            )
        outcome = update_contract(
            session, contract_id, deal.contract, change=change, accept_change=accept_change
        )
        customer_id = get_contract(session, contract_id).customer_id
    return Provisioned(customer_id, False, False, 0, contract_id, outcome)
