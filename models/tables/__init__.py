"""The store's tables (SQLAlchemy 2.0, typed). Every invariant is a constraint here.

Constraint names are fixed because `models.engine.translate_db_errors` maps them to errors.
The tables are kept by concern in this package's modules (`base` holds the declarative base,
the constraint naming and the store's limits); this module is their one surface, and
importing it registers every table on `Base.metadata` (what Alembic compares against).
"""

from sfsync.models.tables.base import (
    MAX_ALIAS,
    MAX_ALIASES_PER_CUSTOMER,
    MAX_API_KEY_NAME,
    MAX_EVENT_KEY,
    MAX_FIELD_KEY,
    MAX_FIELD_VALUE,
    MAX_NAME,
    MAX_REQUEST_KEY,
    NAMING,
    Base,
)
from sfsync.models.tables.contracts import Contract, ContractRevision
from sfsync.models.tables.customers import (
    IS_UNIQUE_VALUE,
    AliasMove,
    Customer,
    CustomFieldKey,
    CustomFieldValue,
    IngestAlias,
)
from sfsync.models.tables.operations import (
    ApiKey,
    DeadLetter,
    OutboundNotification,
    RequestKey,
    SyncCursor,
    SyncRun,
    TaskRuntime,
    Writeback,
)
from sfsync.models.tables.usage import IngestTally, UsageEvent

__all__ = [
    "IS_UNIQUE_VALUE",
    "MAX_ALIAS",
    "MAX_ALIASES_PER_CUSTOMER",
    "MAX_API_KEY_NAME",
    "MAX_EVENT_KEY",
    "MAX_FIELD_KEY",
    "MAX_FIELD_VALUE",
    "MAX_NAME",
    "MAX_REQUEST_KEY",
    "NAMING",
    "AliasMove",
    "ApiKey",
    "Base",
    "Contract",
    "ContractRevision",
    "CustomFieldKey",
    "CustomFieldValue",
    "Customer",
    "DeadLetter",
    "IngestAlias",
    "IngestTally",
    "OutboundNotification",
    "RequestKey",
    "SyncCursor",
    "SyncRun",
    "TaskRuntime",
    "UsageEvent",
    "Writeback",
]
