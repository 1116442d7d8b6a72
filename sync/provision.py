"""Provisioning a deal into the store: find-or-create the customer, attach its aliases,
upsert its contract — idempotent, all or nothing.

Every uniqueness rule is held by the store's constraints, so two workers provisioning the
same account at once end with one customer: the loser of the race reads the winner's row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from config import Settings
from models import AliasConflict, Entity, NotFound, UniqueFieldConflict
from models.aliases import add_aliases
from models.contracts import (
    ContractSpec,
    Outcome,
    get_contract,
    update_contract,
    upsert_contract_by_field,
)
from models.customers import create_customer, get_customer, rename_customer
from models.fields import SFDC_ACCOUNT_ID, SFDC_OPPORTUNITY_ID, find_by_field
from models.tables import Customer
from models.writebacks import enqueue
from sync.mapping import Deal


class DealConflict(AliasConflict):
    """An alias of the deal's account is held by another customer."""

    def __init__(self, conflict: AliasConflict, account_id: str, customer_id: uuid.UUID) -> None:
        super().__init__(conflict.alias, conflict.holder_id)
        self.args = (
            f"alias {conflict.alias!r} of account {account_id} (customer {customer_id}) is "
            f"already held by customer {conflict.holder_id}; remove it there or fix the "
            f"alias fields in Salesforce, then replay",
        )


@dataclass(frozen=True)
class Provisioned:
    """What provisioning one deal changed."""

    customer_id: uuid.UUID
    customer_created: bool
    customer_renamed: bool
    aliases_added: int
    contract_id: uuid.UUID
    contract: Outcome


def find_or_create_customer(session: Session, account_id: str, name: str) -> tuple[Customer, bool]:
    """The customer for a Salesforce account, created if none; (customer, created)."""
    holder = find_by_field(session, Entity.CUSTOMER, SFDC_ACCOUNT_ID, account_id)
    if holder is not None:
        return get_customer(session, holder), False
    try:
        customer = create_customer(session, name, custom_fields={SFDC_ACCOUNT_ID: account_id})
    except UniqueFieldConflict as conflict:
        # Another worker created it between our look-up and our insert.
        if conflict.holder_id is None:
            raise
        return get_customer(session, conflict.holder_id), False
    return customer, True


def provision_deal(session: Session, deal: Deal, settings: Settings) -> Provisioned:
    """Apply one deal; on any error nothing of it is applied (savepoint)."""
    with session.begin_nested():
        customer, created = find_or_create_customer(session, deal.account_id, deal.account_name)
        renamed = not created and rename_customer(session, customer, deal.account_name)
        try:
            added = add_aliases(session, customer.id, deal.aliases, deal.origins())
        except AliasConflict as conflict:
            raise DealConflict(conflict, deal.account_id, customer.id) from conflict
        terms = deal.contract
        contract, outcome = upsert_contract_by_field(
            session,
            customer.id,
            SFDC_OPPORTUNITY_ID,
            terms.opportunity_id,
            ContractSpec(
                name=terms.name,
                starting_at=terms.starting_at,
                ending_before=terms.ending_before,
                amount=terms.amount,
                currency=terms.currency,
            ),
        )
        if created and settings.sf_writeback_field:
            enqueue(session, deal.account_id, customer.id)
    return Provisioned(customer.id, created, renamed, len(added), contract.id, outcome)


def refresh_contract(session: Session, deal: Deal) -> Provisioned:
    """Bring the contract of an already provisioned deal up to date, leaving its customer.

    For opportunities the store holds under their account's customer (the account's name and
    aliases are the account stream's to change); all or nothing (savepoint).
    """
    terms = deal.contract
    spec = ContractSpec(
        name=terms.name,
        starting_at=terms.starting_at,
        ending_before=terms.ending_before,
        amount=terms.amount,
        currency=terms.currency,
    )
    with session.begin_nested():
        contract_id = find_by_field(
            session, Entity.CONTRACT, SFDC_OPPORTUNITY_ID, terms.opportunity_id
        )
        if contract_id is None:
            raise NotFound(
                f"opportunity {terms.opportunity_id} has no contract any more; replay it to "
                "provision it in full"
            )
        outcome = update_contract(session, contract_id, spec)
        customer_id = get_contract(session, contract_id).customer_id
    return Provisioned(customer_id, False, False, 0, contract_id, outcome)
