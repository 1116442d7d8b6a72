"""Tables of customers, their custom fields, their ingest aliases and the alias moves' audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
    column,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from sfsync.models.tables.base import (
    MAX_ALIAS,
    MAX_FIELD_KEY,
    MAX_FIELD_VALUE,
    MAX_NAME,
    Base,
    enum_column,
)
from sfsync.models.types import (
    AliasMoveReason,
    AliasSource,
    CustomerStatus,
    Entity,
    UTCDateTime,
    new_id,
    utcnow,
)

#: The partial unique index's predicate on custom field values, spelled as the index spells
#: it, so a look-up is an index search on SQLite and PostgreSQL alike (SQLite matches a
#: partial index only on the identical term, where SQLAlchemy would write `is_unique = 1`).
IS_UNIQUE_VALUE: ColumnElement[Any] = literal_column("custom_field_values.is_unique")

__all__ = [
    "IS_UNIQUE_VALUE",
    "AliasMove",
    "CustomFieldKey",
    "CustomFieldValue",
    "Customer",
    "IngestAlias",
]


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[CustomerStatus] = mapped_column(
        enum_column(CustomerStatus, 16), default=CustomerStatus.ACTIVE, server_default="active"
    )
    #: The customer this one was merged into (an acquisition or an account merge at the source). No
    #: foreign key: customers are never deleted, and SQLite can add this column in place only
    #: without a named one.
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_NAME}", name="name_length"),
        CheckConstraint("merged_into IS NULL OR status = 'archived'", name="merged_is_archived"),
    )


class CustomFieldKey(Base):
    __tablename__ = "custom_field_keys"

    entity: Mapped[Entity] = mapped_column(enum_column(Entity, 16), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_FIELD_KEY), primary_key=True)
    enforce_uniqueness: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Target of the values' composite foreign key, which copies the flag faithfully.
        Index("uq_custom_field_keys_flag", "entity", "key", "enforce_uniqueness", unique=True),
    )


class CustomFieldValue(Base):
    """A value of a registered key on one entity; unique keys are unique by partial index."""

    __tablename__ = "custom_field_values"

    entity: Mapped[Entity] = mapped_column(enum_column(Entity, 16), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_FIELD_KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(MAX_FIELD_VALUE))
    # Copied from the key and held equal to it by the composite foreign key below, so the
    # partial unique index can enforce uniqueness without looking at another table.
    is_unique: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["entity", "key", "is_unique"],
            [
                "custom_field_keys.entity",
                "custom_field_keys.key",
                "custom_field_keys.enforce_uniqueness",
            ],
            name="fk_custom_field_values_key",
        ),
        CheckConstraint(f"length(value) <= {MAX_FIELD_VALUE}", name="value_length"),
        Index(
            "uq_custom_field_values_unique_value",
            "entity",
            "key",
            "value",
            unique=True,
            sqlite_where=column("is_unique"),
            postgresql_where=column("is_unique"),
        ),
    )


class IngestAlias(Base):
    """An alias has one owner: it is the primary key. It records where it came from.

    An externally sourced alias names the account it comes from and the field (`Id` for the
    account id itself); a manual one (CLI, API) names neither.
    """

    __tablename__ = "ingest_aliases"

    alias: Mapped[str] = mapped_column(String(MAX_ALIAS), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[AliasSource] = mapped_column(
        enum_column(AliasSource, 16), default=AliasSource.MANUAL, server_default="manual"
    )
    source_account_id: Mapped[str | None] = mapped_column(String(18), index=True)
    source_field: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        CheckConstraint(f"length(alias) BETWEEN 1 AND {MAX_ALIAS}", name="alias_length"),
        CheckConstraint(
            "(source = 'salesforce') = (source_account_id IS NOT NULL)", name="source_account"
        ),
    )


class AliasMove(Base):
    """A record of each alias a sync moved or released, and why (the hierarchy's audit)."""

    __tablename__ = "alias_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alias: Mapped[str] = mapped_column(String(MAX_ALIAS), index=True)
    from_customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: None: released (its usage pending again).
    to_customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[AliasMoveReason] = mapped_column(enum_column(AliasMoveReason, 16))
    source_account_id: Mapped[str | None] = mapped_column(String(18))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
