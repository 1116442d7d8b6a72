"""The store's tables (SQLAlchemy 2.0, typed). Every invariant is a constraint here.

Constraint names are fixed because `models.engine.translate_db_errors` maps them to errors.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sfsync.models.types import (
    AliasMoveReason,
    AliasSource,
    ApiScope,
    ContractStatus,
    CustomerStatus,
    DeadLetterSource,
    DeadLetterStatus,
    EndSource,
    Entity,
    Money,
    RevisionKind,
    RunStatus,
    RunTrigger,
    Stream,
    TaskRunOutcome,
    UTCDateTime,
    WritebackStatus,
    new_id,
    utcnow,
)

__all__ = [
    "MAX_ALIAS",
    "MAX_ALIASES_PER_CUSTOMER",
    "MAX_API_KEY_NAME",
    "MAX_EVENT_KEY",
    "MAX_FIELD_KEY",
    "MAX_FIELD_VALUE",
    "MAX_NAME",
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

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The store's limits, each defined here once: the columns, their CHECKs, the validators in
# models/ and the mapping of Salesforce records in sync/ all read these.
#: A customer's or a contract's name (the billing model's).
MAX_NAME = 160
#: A custom field's key, and its value.
MAX_FIELD_KEY = 128
MAX_FIELD_VALUE = 200
MAX_ALIAS = 128
MAX_ALIASES_PER_CUSTOMER = 2000
MAX_EVENT_KEY = 128
MAX_API_KEY_NAME = 128
#: A client's `Idempotency-Key` or `uniqueness_key`.
MAX_REQUEST_KEY = 255


def _enum(cls: type[Any], length: int = 32) -> Enum:
    # Stored as plain strings (no native enum type): adding a value needs no DDL.
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[CustomerStatus] = mapped_column(
        _enum(CustomerStatus, 16), default=CustomerStatus.ACTIVE, server_default="active"
    )
    #: The customer this one was merged into (an acquisition or a Salesforce merge). No
    #: foreign key: customers are never deleted, and SQLite can add this column in place only
    #: without a named one.
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_NAME}", name="name_length"),
        CheckConstraint("merged_into IS NULL OR status = 'archived'", name="merged_is_archived"),
    )


class CustomFieldKey(Base):
    __tablename__ = "custom_field_keys"

    entity: Mapped[Entity] = mapped_column(_enum(Entity, 16), primary_key=True)
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

    entity: Mapped[Entity] = mapped_column(_enum(Entity, 16), primary_key=True)
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
            sqlite_where=text("is_unique"),
            postgresql_where=text("is_unique"),
        ),
    )


class IngestAlias(Base):
    """An alias has one owner: it is the primary key. It records where it came from.

    A Salesforce-sourced alias names the account it comes from and the field (`Id` for the
    account id itself); a manual one (CLI, API) names neither.
    """

    __tablename__ = "ingest_aliases"

    alias: Mapped[str] = mapped_column(String(MAX_ALIAS), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[AliasSource] = mapped_column(
        _enum(AliasSource, 16), default=AliasSource.MANUAL, server_default="manual"
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
    reason: Mapped[AliasMoveReason] = mapped_column(_enum(AliasMoveReason, 16))
    source_account_id: Mapped[str | None] = mapped_column(String(18))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    starting_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ending_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ContractStatus] = mapped_column(
        _enum(ContractStatus, 16), default=ContractStatus.ACTIVE
    )
    #: Who set `ending_before` when it is not the deal's term (None: it is the deal's).
    end_source: Mapped[EndSource | None] = mapped_column(_enum(EndSource, 16))
    #: The deal's SystemModstamp when sfsync last wrote the contract (reconciliation compares).
    sf_modstamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_NAME}", name="name_length"),
        CheckConstraint(
            "ending_before IS NULL OR ending_before > starting_at", name="period_order"
        ),
        CheckConstraint("amount IS NULL OR CAST(amount AS NUMERIC) >= 0", name="amount_positive"),
        CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency", name="currency_code"
        ),
    )


class ContractRevision(Base):
    """One change made to a contract: its terms before and after, why, and from which run."""

    __tablename__ = "contract_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RevisionKind] = mapped_column(_enum(RevisionKind, 16))
    #: Terms before the change (None for `created`) and after, as `models.revisions` writes them.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    cause: Mapped[str] = mapped_column(Text)
    #: The opportunity's SystemModstamp the change came from (None for an operator's change).
    sf_modstamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageEvent(Base):
    """A usage event exactly as sent; `customer_id` is its attribution, or NULL while pending.

    Indexes are chosen for ingest speed (each one is a random-order B-tree write per event):
    `(customer_key, timestamp)` serves alias re-attribution and per-customer summaries (a
    customer's keys are its aliases and its id) and is untouched when attribution changes;
    the partial index holds only pending events, so the sweep and `usage pending` read a
    small index while attributed events never enter it. There is deliberately no index on
    `customer_id`, nor a foreign key (sfsync never deletes a customer).
    """

    __tablename__ = "usage_events"

    transaction_id: Mapped[str] = mapped_column(String(MAX_EVENT_KEY), primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(MAX_EVENT_KEY))
    # No foreign key (migration 0009): its per-row check cost ~40% of an ingest batch on
    # PostgreSQL, and customers are archived, never deleted.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(MAX_EVENT_KEY))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_usage_events_customer_key_timestamp", "customer_key", "timestamp"),
        Index(
            "ix_usage_events_pending",
            "customer_key",
            sqlite_where=text("customer_id IS NULL"),
            postgresql_where=text("customer_id IS NULL"),
        ),
    )


class SyncCursor(Base):
    """Where a stream has got to, and who may advance it (the lease)."""

    __tablename__ = "sync_cursors"

    stream: Mapped[Stream] = mapped_column(_enum(Stream, 32), primary_key=True)
    #: The stream's cursor as text, typed by the stream (`models.cursors.CursorCodec`).
    position: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[Stream] = mapped_column(_enum(Stream, 32))
    trigger: Mapped[RunTrigger] = mapped_column(_enum(RunTrigger, 16))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, 16), default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    customers_created: Mapped[int] = mapped_column(Integer, default=0)
    customers_updated: Mapped[int] = mapped_column(Integer, default=0)
    contracts_created: Mapped[int] = mapped_column(Integer, default=0)
    contracts_updated: Mapped[int] = mapped_column(Integer, default=0)
    contracts_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    contracts_ended: Mapped[int] = mapped_column(Integer, default=0)
    contracts_archived: Mapped[int] = mapped_column(Integer, default=0)
    #: Reconciliation: won deals the store lacked, contracts without a won deal, and
    #: contracts whose deal had changed unseen.
    drift_missing: Mapped[int] = mapped_column(Integer, default=0)
    drift_extra: Mapped[int] = mapped_column(Integer, default=0)
    drift_changed: Mapped[int] = mapped_column(Integer, default=0)
    #: QUERY_TIMEOUT halvings of the run's time window, and the narrowest width (seconds).
    window_shrinks: Mapped[int] = mapped_column(Integer, default=0)
    window_seconds: Mapped[int] = mapped_column(Integer, default=0)
    aliases_added: Mapped[int] = mapped_column(Integer, default=0)
    dead_lettered: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    #: The org's API usage (Sforce-Limit-Info) at the run's end, when Salesforce sent it.
    api_usage_used: Mapped[int | None] = mapped_column(Integer)
    api_usage_max: Mapped[int | None] = mapped_column(Integer)
    #: The stream's cursor before and after the run, as stored (`SyncCursor.position`).
    cursor_before: Mapped[str | None] = mapped_column(Text)
    cursor_after: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    #: While running: the SystemModstamp of the oldest change read and not yet applied.
    backlog_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sync_runs_stream_started_at", "stream", "started_at"),)


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[DeadLetterSource] = mapped_column(_enum(DeadLetterSource, 32))
    reference: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[DeadLetterStatus] = mapped_column(
        _enum(DeadLetterStatus, 16), default=DeadLetterStatus.OPEN
    )
    task_name: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(255))
    task_args: Mapped[Any | None] = mapped_column(JSON)
    payload: Mapped[Any | None] = mapped_column(JSON)
    error_class: Mapped[str] = mapped_column(String(255))
    error_message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    #: Later failures of replays, oldest first: {"at", "error_class", "error_message", "actor"}.
    error_history: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discard_reason: Mapped[str | None] = mapped_column(Text)
    #: Who last replayed or discarded the letter (`cli:USER`, `console:KEY NAME`).
    actor: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_dead_letters_status_source", "status", "source"),
        Index("ix_dead_letters_reference", "reference"),
        # One open letter per record: a failure that repeats adds attempts (models.deadletters).
        Index(
            "uq_dead_letters_open_reference",
            "source",
            "reference",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class Writeback(Base):
    """Outbox of customer ids to write back to Salesforce accounts."""

    __tablename__ = "writebacks"

    account_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[WritebackStatus] = mapped_column(
        _enum(WritebackStatus, 16), default=WritebackStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a row that failed for a passing reason is due again (None: due now).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_writebacks_status", "status"),)


class ApiKey(Base):
    """An HTTP API key: only the SHA-256 of its secret is kept; `key_id` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_API_KEY_NAME))
    scope: Mapped[ApiScope] = mapped_column(_enum(ApiScope, 16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_API_KEY_NAME}", name="name_length"),
    )


class OutboundNotification(Base):
    """A Salesforce Outbound Message notification, kept so a redelivery is recognised.

    `enqueued_at` is set once its provisioning task is on the broker; a redelivered
    notification that never got that far is enqueued again. The key is the org, the id
    and the object together: a forged id claimed first for another object cannot stand
    in for the genuine notification.
    """

    __tablename__ = "outbound_notifications"

    organization_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_outbound_notifications_received_at", "received_at"),
        Index(
            "ix_outbound_notifications_organization_id_enqueued_at",
            "organization_id",
            "enqueued_at",
        ),
    )


class IngestTally(Base):
    """What one ingest call did: rows only ever added, so totals are sums (`/metrics`).

    Duplicates leave no other trace in the store (insert-or-ignore), hence this table.
    """

    __tablename__ = "ingest_tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicate: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)


class TaskRuntime(Base):
    """One bucket of a task's runtime histogram, per outcome: counters only ever increased.

    Every task run adds itself to one row in one upsert (`models.task_runtimes`), so the
    totals are right whatever the number of worker processes and hosts. `le` is the bucket's
    upper bound as Prometheus writes it ("0.5", "+Inf"); the row counts the runs that fell
    in that bucket alone, cumulative counts are summed when read.
    """

    __tablename__ = "task_runtimes"

    task: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[TaskRunOutcome] = mapped_column(_enum(TaskRunOutcome, 16), primary_key=True)
    le: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    sum_seconds: Mapped[float] = mapped_column(Double)


class RequestKey(Base):
    """A key a client presents that the server remembers.

    `scope` says what kind: ``idempotency:<api key id>`` for an `Idempotency-Key` header
    (the first response kept, with the request's fingerprint), an entity's
    ``<entity>.uniqueness_key`` (the entity the key created), both written in the write's
    own transaction so a write that failed leaves none; or ``console.session`` (the SHA-256
    of a console session's id, `response` naming its API key).
    """

    __tablename__ = "request_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_REQUEST_KEY), primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSON)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
