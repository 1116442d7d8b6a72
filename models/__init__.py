"""The internal store: tables, sessions, migrations and the operations that keep its invariants.

Knows nothing of Salesforce or Celery.
"""

from sfsync.models.engine import Store, open_store
from sfsync.models.errors import (
    AliasConflict,
    AliasIsCustomerId,
    AliasLimitExceeded,
    ChangeNeedsApproval,
    Conflict,
    CustomerArchived,
    DeadlinePassed,
    IdempotencyKeyRaced,
    IdempotencyKeyReused,
    InvalidInput,
    LeaseLost,
    NotFound,
    StoreError,
    StoreNotMigrated,
    StoreUnavailable,
    StoreUnreachable,
    UniqueFieldConflict,
    UniquenessKeyUsed,
    UnknownFieldKey,
)
from sfsync.models.types import Entity

__all__ = [
    "AliasConflict",
    "AliasIsCustomerId",
    "AliasLimitExceeded",
    "ChangeNeedsApproval",
    "Conflict",
    "CustomerArchived",
    "DeadlinePassed",
    "Entity",
    "IdempotencyKeyRaced",
    "IdempotencyKeyReused",
    "InvalidInput",
    "LeaseLost",
    "NotFound",
    "Store",
    "StoreError",
    "StoreNotMigrated",
    "StoreUnavailable",
    "StoreUnreachable",
    "UniqueFieldConflict",
    "UniquenessKeyUsed",
    "UnknownFieldKey",
    "open_store",
]
