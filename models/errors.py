"""Errors raised by the store.

::

    StoreError
     ├── NotFound                    no such customer / contract / dead letter / run
     ├── Conflict                    a unique rule holds against this write
     │    ├── AliasConflict          the alias belongs to another customer
     │    │    └── AliasIsCustomerId  the alias is a customer's id (which names that customer)
     │    ├── UniqueFieldConflict    another entity holds this unique custom field value
     │    ├── CustomerArchived       the customer is archived: no new contracts or aliases
     │    ├── UniquenessKeyUsed      a create's `uniqueness_key` already created an entity
     │    ├── IdempotencyKeyReused   an `Idempotency-Key` came first with another request
     │    └── IdempotencyKeyRaced    a concurrent request with the same `Idempotency-Key` won
     ├── InvalidInput                a value breaks a rule of the billing model
     │    ├── UnknownFieldKey        no such custom field key is registered
     │    └── AliasLimitExceeded     more than 2,000 aliases on one customer
     ├── ChangeNeedsApproval         the change would rewrite a started contract's billed history
     ├── LeaseLost                   another owner took the stream's lease (ours expired)
     ├── StoreNotMigrated            the database is behind its migrations
     └── StoreUnavailable            transient: lock timeout, deadlock, lost connection (retry)
          ├── StoreUnreachable       cannot open or connect at all: bad URL, missing folder
          │                          or database, server down (the message says which)
          └── DeadlinePassed         the work's deadline passed before it could commit
                                     (rolled back: nothing was written)

Database exceptions are translated in `models.engine.translate_db_errors`, the one place
that knows the constraint names.
"""

from __future__ import annotations

import uuid

__all__ = [
    "AliasConflict",
    "AliasIsCustomerId",
    "AliasLimitExceeded",
    "ChangeNeedsApproval",
    "Conflict",
    "CustomerArchived",
    "DeadlinePassed",
    "IdempotencyKeyRaced",
    "IdempotencyKeyReused",
    "InvalidInput",
    "LeaseLost",
    "NotFound",
    "StoreError",
    "StoreNotMigrated",
    "StoreUnavailable",
    "StoreUnreachable",
    "UniqueFieldConflict",
    "UniquenessKeyUsed",
    "UnknownFieldKey",
]


class StoreError(Exception):
    """Base class of every store error."""


class NotFound(StoreError):
    """The requested entity does not exist."""


class Conflict(StoreError):
    """A uniqueness rule holds against this write."""


class AliasConflict(Conflict):
    """The ingest alias is held by another customer."""

    def __init__(self, alias: str, holder_id: uuid.UUID | None) -> None:
        self.alias = alias
        self.holder_id = holder_id
        holder = f"customer {holder_id}" if holder_id else "another customer"
        super().__init__(f"alias {alias!r} already belongs to {holder}")


class AliasIsCustomerId(AliasConflict):
    """The ingest alias is some customer's id, which always names that customer."""

    def __init__(self, alias: str, customer_id: uuid.UUID) -> None:
        Conflict.__init__(
            self,
            f"alias {alias!r} is the id of customer {customer_id}; a customer's id always "
            "names that customer, so it cannot be another customer's alias",
        )
        self.alias = alias
        self.holder_id = customer_id


class UniqueFieldConflict(Conflict):
    """Another entity already holds this value of a unique custom field."""

    def __init__(self, entity: str, key: str, value: str, holder_id: uuid.UUID | None) -> None:
        self.entity = entity
        self.key = key
        self.value = value
        self.holder_id = holder_id
        holder = f"{entity} {holder_id}" if holder_id else f"another {entity}"
        super().__init__(f"{entity} custom field {key}={value!r} is already held by {holder}")


class CustomerArchived(Conflict):
    """The customer is archived (by hand, or merged into another): it takes no new work."""

    def __init__(self, customer_id: uuid.UUID, merged_into: uuid.UUID | None = None) -> None:
        self.customer_id = customer_id
        self.merged_into = merged_into
        how = f"merged into customer {merged_into}" if merged_into else "archived"
        super().__init__(f"customer {customer_id} is {how}; it takes no new contracts or usage")


class UniquenessKeyUsed(Conflict):
    """A create's `uniqueness_key` was used before: the entity it created is named."""

    def __init__(self, entity: str, key: str, holder_id: uuid.UUID | None) -> None:
        self.entity = entity
        self.key = key
        self.holder_id = holder_id
        created = f"{entity} {holder_id}" if holder_id else f"another {entity}"
        super().__init__(f"uniqueness_key {key[:80]!r} already created {created}")


class IdempotencyKeyReused(Conflict):
    """An `Idempotency-Key` was first sent with a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"Idempotency-Key {key[:80]!r} was first used with a different request (another "
            "method, path or body); send a new key for a new request"
        )


class IdempotencyKeyRaced(Conflict):
    """A concurrent request with the same `Idempotency-Key` committed first."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"another request with Idempotency-Key {key[:80]!r} was being handled at the same "
            "time and was applied; send this request again to get its answer"
        )


class InvalidInput(StoreError, ValueError):
    """A value breaks a rule of the billing model."""


class UnknownFieldKey(InvalidInput):
    """The custom field key is not registered for the entity."""

    def __init__(self, entity: str, key: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(
            f"unknown {entity} custom field key {key!r}; register it with "
            f"`sfsync fields add-key {entity} {key}`"
        )


class AliasLimitExceeded(InvalidInput):
    """A customer may hold at most 2,000 ingest aliases."""


class ChangeNeedsApproval(StoreError):
    """A currency change or a moved start on a contract that has started: an operator decides.

    Not applied by a sync (the contract stays as it is); `sfsync dlq retry ID --accept-change`
    applies it with a revision.
    """


class LeaseLost(StoreError):
    """Another owner took the stream's lease (ours expired); stop without writing."""


class StoreNotMigrated(StoreError):
    """The database schema is behind the code's migrations."""


class StoreUnavailable(StoreError):
    """A transient database failure (lock timeout, deadlock, lost connection); retry."""


class StoreUnreachable(StoreUnavailable):
    """The store cannot be opened or connected to; the message says why."""


class DeadlinePassed(StoreUnavailable):
    """The work's deadline passed before it could commit: rolled back, nothing written."""
