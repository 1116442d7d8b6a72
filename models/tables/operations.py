"""Tables of the running system: cursors, runs, dead letters, the writeback outbox, API keys,
notifications, task runtimes and request keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    column,
)
from sqlalchemy.orm import Mapped, mapped_column

from sfsync.models.tables.base import (
    MAX_API_KEY_NAME,
    MAX_REQUEST_KEY,
    Base,
    enum_column,
)
from sfsync.models.types import (
    ApiScope,
    DeadLetterSource,
    DeadLetterStatus,
    RunStatus,
    RunTrigger,
    Stream,
    TaskRunOutcome,
    UTCDateTime,
    WritebackStatus,
    utcnow,
)

__all__ = [
    "ApiKey",
    "DeadLetter",
    "OutboundNotification",
    "RequestKey",
    "SyncCursor",
    "SyncRun",
    "TaskRuntime",
    "Writeback",
]


class SyncCursor(Base):
    """Where a stream has got to, and who may advance it (the lease)."""

    __tablename__ = "sync_cursors"

    stream: Mapped[Stream] = mapped_column(enum_column(Stream, 32), primary_key=True)
    #: The stream's cursor as text, typed by the stream (`models.operations.cursors.CursorCodec`).
    position: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[Stream] = mapped_column(enum_column(Stream, 32))
    trigger: Mapped[RunTrigger] = mapped_column(enum_column(RunTrigger, 16))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, 16), default=RunStatus.RUNNING)
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
    #: The source's API usage at the run's end, when the source reported it.
    api_usage_used: Mapped[int | None] = mapped_column(Integer)
    api_usage_max: Mapped[int | None] = mapped_column(Integer)
    #: The stream's cursor before and after the run, as stored (`SyncCursor.position`).
    cursor_before: Mapped[str | None] = mapped_column(Text)
    cursor_after: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    #: While running: the source version of the oldest change read and not yet applied.
    backlog_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sync_runs_stream_started_at", "stream", "started_at"),)


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[DeadLetterSource] = mapped_column(enum_column(DeadLetterSource, 32))
    reference: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[DeadLetterStatus] = mapped_column(
        enum_column(DeadLetterStatus, 16), default=DeadLetterStatus.OPEN
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
        # One open letter per record: a failure that repeats adds attempts
        # (models.operations.deadletters).
        Index(
            "uq_dead_letters_open_reference",
            "source",
            "reference",
            unique=True,
            sqlite_where=column("status") == DeadLetterStatus.OPEN.value,
            postgresql_where=column("status") == DeadLetterStatus.OPEN.value,
        ),
    )


class Writeback(Base):
    """Outbox of customer ids to write back to the source's accounts."""

    __tablename__ = "writebacks"

    account_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[WritebackStatus] = mapped_column(
        enum_column(WritebackStatus, 16), default=WritebackStatus.PENDING
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
    scope: Mapped[ApiScope] = mapped_column(enum_column(ApiScope, 16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"length(name) BETWEEN 1 AND {MAX_API_KEY_NAME}", name="name_length"),
    )


class OutboundNotification(Base):
    """An Outbound Message notification, kept so a redelivery is recognised.

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


class TaskRuntime(Base):
    """One bucket of a task's runtime histogram, per outcome: counters only ever increased.

    Every task run adds itself to one row in one upsert (`models.operations.task_runtimes`), so the
    totals are right whatever the number of worker processes and hosts. `le` is the bucket's
    upper bound as Prometheus writes it ("0.5", "+Inf"); the row counts the runs that fell
    in that bucket alone, cumulative counts are summed when read.
    """

    __tablename__ = "task_runtimes"

    task: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[TaskRunOutcome] = mapped_column(
        enum_column(TaskRunOutcome, 16), primary_key=True
    )
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
