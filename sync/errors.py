"""What can go wrong applying Salesforce changes to the store.

Errors::

    SyncError                          base of the streams' own errors
     ├── MappingError (ValueError)     a record cannot become a deal; .reason is one
     │                                 actionable sentence naming what to change in Salesforce
     ├── AliasOverflow                 a hierarchy yields more ingest aliases than its
     │                                 customer can hold (`models.tables.MAX_ALIASES_PER_CUSTOMER`)
     └── DealConflict                  an alias of the deal's account is held by another
                                       customer (also a `models.AliasConflict`)

Each is a property of the record, not of the moment: retrying cannot help, so the stream
dead-letters the record with the message and goes on with the page. What the other layers
raise is drawn where it is defined: the Salesforce adapter's errors in
`sync.salesforce.errors`, usage ingestion's in `sync.usage.errors`, the store's in
`models.errors`.
"""

from __future__ import annotations

import uuid

from sfsync.models import AliasConflict

__all__ = ["AliasOverflow", "DealConflict", "MappingError", "SyncError"]


class SyncError(Exception):
    """Base of the errors a stream turns into a dead letter for one record."""


class MappingError(SyncError, ValueError):
    """A record that cannot become a deal; `reason` says what to change in Salesforce."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AliasOverflow(SyncError):
    """A hierarchy yields more ingest aliases than its customer can hold (a dead letter)."""


class DealConflict(SyncError, AliasConflict):
    """An alias of the deal's account is held by another customer."""

    def __init__(
        self, conflict: AliasConflict, account_id: str, customer_id: uuid.UUID | None
    ) -> None:
        AliasConflict.__init__(self, conflict.alias, conflict.holder_id)
        # A customer created for this deal was rolled back with it: do not name its id.
        ours = f"customer {customer_id}" if customer_id is not None else "no customer yet"
        self.args = (
            f"alias {conflict.alias!r} of account {account_id} ({ours}) is "
            f"already held by customer {conflict.holder_id}; remove it there or fix the "
            f"alias fields in Salesforce, then replay",
        )
