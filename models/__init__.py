"""The internal store: tables, sessions, migrations and the operations that keep its invariants.

Knows nothing of Salesforce or Celery.
"""

from models.engine import Store, open_store
from models.errors import (
    AliasConflict,
    AliasIsCustomerId,
    AliasLimitExceeded,
    ChangeNeedsApproval,
    Conflict,
    CustomerArchived,
    InvalidInput,
    LeaseLost,
    NotFound,
    StoreError,
    StoreNotMigrated,
    StoreUnavailable,
    StoreUnreachable,
    UniqueFieldConflict,
    UnknownFieldKey,
)
from models.types import Entity

__all__ = [
    "AliasConflict",
    "AliasIsCustomerId",
    "AliasLimitExceeded",
    "ChangeNeedsApproval",
    "Conflict",
    "CustomerArchived",
    "Entity",
    "InvalidInput",
    "LeaseLost",
    "NotFound",
    "Store",
    "StoreError",
    "StoreNotMigrated",
    "StoreUnavailable",
    "StoreUnreachable",
    "UniqueFieldConflict",
    "UnknownFieldKey",
    "open_store",
]
