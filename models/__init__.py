"""The internal store: tables, sessions, migrations and the operations that keep its invariants.

Grouped by concern into sub-packages, each with a surface (its `__all__`): `customers`
(customers and custom fields), `aliases` (aliases and attribution), `contracts` (terms,
change plans, revisions), `usage`, `operations` (runs, cursors, letters, keys, runtimes) and
`reports` (read-only views across them). The shared ground stays here: the engine and its
error translation, the tables, types, errors, the dialect helpers and the JSON row layer.

Knows nothing of the systems it is fed from, nor of Celery: tests/unit/test_models_vocabulary.py
holds it to that, with the few stored values and field keys it allows said there.
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
