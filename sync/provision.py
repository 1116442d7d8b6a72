"""Provisioning a deal into the store: find-or-create the customer, attach its aliases,
upsert its contract — idempotent, all or nothing.

The customer is found by `sync.owners` (a deal whose account belongs to a customer
archived by hand raises its `AccountArchived`); its aliases are claimed by `sync.merges`.
Every uniqueness rule is held by the store's constraints, so two workers provisioning the
same account at once end with one customer: the loser of the race reads the winner's row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfsync.config import Settings
from sfsync.models import AliasConflict, Entity, NotFound
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.contracts.records import (
    ContractOutcome,
    get_contract,
    update_contract,
    upsert_contract_by_field,
)
from sfsync.models.contracts.revisions import SYNC, Change
from sfsync.models.customers.fields import SFDC_OPPORTUNITY_ID, find_by_field
from sfsync.models.customers.records import rename_customer
from sfsync.models.operations.deadletters import add_letter
from sfsync.models.operations.writebacks import enqueue
from sfsync.sync.errors import DealConflict
from sfsync.sync.mapping import Deal
from sfsync.sync.merges import claim_tree, overflow_letter
from sfsync.sync.owners import find_or_create_customer

__all__ = ["Provisioned", "deal_change", "provision_deal", "refresh_contract"]


@dataclass(frozen=True)
class Provisioned:
    """What provisioning one deal changed."""

    customer_id: uuid.UUID
    customer_created: bool
    customer_renamed: bool
    aliases_added: int
    contract_id: uuid.UUID
    contract: ContractOutcome


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
