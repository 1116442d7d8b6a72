"""The account stream's dead letters: an alias another customer holds, a malformed record.

Each names both customers (by id, name and account) and what to change in Salesforce or in
the store so that a replay succeeds.

Errors::

    Exception
     ├── AccountConflict        an alias of the account that the store refuses for the
     │                          whole customer (caught by the account stream, which letters it)
     ├── AccountAliasConflict   a letter's error class: an alias another customer holds
     └── MalformedAccount       a letter's error class: no valid Id or ParentId
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from sfsync.models import Entity
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, fields_for
from sfsync.models.operations.deadletters import Failure
from sfsync.models.tables import Customer
from sfsync.models.types import DeadLetterSource
from sfsync.sync.claims import Contested
from sfsync.sync.salesforce import AccountNode, AccountRow, strip_attributes

__all__ = [
    "AccountAliasConflict",
    "AccountConflict",
    "MalformedAccount",
    "account_of",
    "conflict_letter",
    "conflict_message",
    "malformed_letter",
    "node_payload",
]


def node_payload(node: AccountNode) -> dict[str, Any]:
    return {
        "Id": node.id,
        "Name": node.name,
        "ParentId": node.parent_id,
        "alias_values": list(node.alias_values),
    }


class AccountConflict(Exception):
    """An alias of `account` that the store refuses for the whole customer."""

    def __init__(self, account: str, message: str) -> None:
        super().__init__(message)
        self.account, self.message = account, message


def _describe(customer: Customer | None, customer_id: uuid.UUID, account: str | None) -> str:
    name = f" {customer.name!r}" if customer is not None else ""
    where = f"account {account}" if account else "no Salesforce account"
    return f"customer {customer_id}{name} ({where})"


def conflict_message(session: Session, contested: Contested, customer: Customer) -> str:
    ours = _describe(customer, customer.id, account_of(session, customer.id))
    holder = contested.holder_id
    theirs = _describe(session.get(Customer, holder), holder, contested.holder_account)
    return (
        f"alias {contested.alias!r} of account {contested.account_id} belongs to {ours} in "
        f"Salesforce's hierarchy but is held by {theirs}; move or remove it there, or fix the "
        "hierarchy or alias fields in Salesforce"
    )


def account_of(session: Session, customer_id: uuid.UUID) -> str | None:
    return fields_for(session, Entity.CUSTOMER, [customer_id])[customer_id].get(SFDC_ACCOUNT_ID)


class AccountAliasConflict(Exception):
    """Aliases of an account are held by another customer (the messages say which)."""


class MalformedAccount(Exception):
    """An account record that cannot be placed in a hierarchy."""


def conflict_letter(account: str, payload: Mapping[str, Any], messages: Sequence[str]) -> Failure:
    error = AccountAliasConflict("; ".join(messages))
    return Failure(
        source=DeadLetterSource.ACCOUNT,
        reference=account,
        payload=dict(payload),
        error_class=type(error).__name__,
        error_message=str(error),
    )


def malformed_letter(row: AccountRow) -> Failure:
    error = MalformedAccount(
        "the account record has no valid Id or ParentId; it cannot be placed in a hierarchy"
    )
    return Failure(
        source=DeadLetterSource.ACCOUNT,
        reference=row.reference,
        payload=strip_attributes(row.record),
        error_class=type(error).__name__,
        error_message=str(error),
    )
