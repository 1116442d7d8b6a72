"""A contract as a value: what it says (`ContractTerms`), and the row the store keeps of it.

`ContractTerms` is the one description of a contract across the layers. The mapping of a
source's deal produces one, the operator's CLI and API build one, both provisioning paths
(per deal, `models.contracts.records`; set-based, `sync.provision_batch`) hand one to the store, and
the revisions record one. It is validated in one place (`models.contracts.records.validate_terms`)
and compared in one place (`models.contracts.change_plans.same_terms`).

`ContractRow` is a stored contract as the set-based statements (`models.contracts.bulk`)
and the change plans (`models.contracts.change_plans`) read and write it: identity and owner,
the terms, the lifecycle state. It holds the terms as one value rather than repeating their
fields, so a term added to contracts is added here once.

Identity that comes from elsewhere (the source's deal id) is not a term: it is the
contract's unique custom field, kept by whoever knows it (`sync.mapping.Deal`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sfsync.models.tables import Contract
from sfsync.models.types import ContractStatus, EndSource

__all__ = ["ContractRow", "ContractTerms", "row_of"]


@dataclass(frozen=True)
class ContractTerms:
    """What a contract says: a name, a period [starting_at, ending_before), an amount and its
    currency. Compared field by field (amounts as numbers) to detect a change."""

    name: str
    starting_at: datetime
    #: None: open-ended.
    ending_before: datetime | None = None
    amount: Decimal | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class ContractRow:
    """A contract as stored: its id and customer, its terms, where it is in its lifecycle."""

    id: uuid.UUID
    customer_id: uuid.UUID
    terms: ContractTerms
    status: ContractStatus = ContractStatus.ACTIVE
    #: Who set `terms.ending_before` when it is not the deal's (None: it is the deal's).
    end_source: EndSource | None = None
    #: The deal's source version when last written.
    source_version: datetime | None = None


def row_of(contract: Contract) -> ContractRow:
    """A contract's stored values as the lifecycle rules read them."""
    return ContractRow(
        contract.id,
        contract.customer_id,
        ContractTerms(
            contract.name,
            contract.starting_at,
            contract.ending_before,
            contract.amount,
            contract.currency,
        ),
        contract.status,
        contract.end_source,
        contract.source_version,
    )
