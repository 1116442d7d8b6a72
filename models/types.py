"""Column types and status enums shared by the tables."""

from __future__ import annotations

import enum
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from sfsync.models.errors import InvalidInput

__all__ = [
    "MONEY_PRECISION",
    "MONEY_SCALE",
    "AliasMoveReason",
    "AliasSource",
    "ApiScope",
    "ContractStatus",
    "CustomerStatus",
    "DeadLetterSource",
    "DeadLetterStatus",
    "EndSource",
    "Entity",
    "Money",
    "RevisionKind",
    "RunStatus",
    "RunTrigger",
    "Stream",
    "TaskRunOutcome",
    "UTCDateTime",
    "WritebackStatus",
    "in_utc",
    "new_id",
    "plain_decimal",
    "utcnow",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


MONEY_PRECISION = 24
MONEY_SCALE = 6


def plain_decimal(value: Decimal) -> Decimal:
    """`value` in its one canonical form: no trailing zeros and no exponent.

    `Decimal.normalize()` alone turns 20630 into `2.063E+4` and PostgreSQL's NUMERIC(24, 6)
    gives back `20630.000000`; both read as the same number but print differently, so every
    amount leaving the store (and every sum) goes through here: `20630`, `100`, `0`,
    `0.000001`, whatever the backend.
    """
    if value.is_zero():
        return Decimal(0)  # also folds -0 and 0E-6
    # Exact whatever the digits: the default context would round past 28 of them.
    exact = Context(prec=max(28, len(value.as_tuple().digits)))
    return Decimal(format(value.normalize(exact), "f"))


class Money(TypeDecorator[Decimal]):
    """Exact decimal money: NUMERIC on PostgreSQL, text on SQLite (which has no decimal).

    Both hold at most `MONEY_PRECISION` digits, `MONEY_SCALE` of them after the point
    (`models.contracts.records.validate_terms` refuses more), and read back as `plain_decimal`.
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return format(plain_decimal(value), "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain_decimal(value if isinstance(value, Decimal) else Decimal(str(value)))


class Entity(enum.StrEnum):
    """Entities that carry custom fields."""

    CUSTOMER = "customer"
    CONTRACT = "contract"


class ContractStatus(enum.StrEnum):
    """Where a contract is in its lifecycle (`models.contracts.change_plans`)."""

    ACTIVE = "active"
    #: Its deal left Closed Won (or was deleted) after the contract started.
    ENDED = "ended"
    #: Void: its deal left Closed Won (or was deleted) before the contract started.
    ARCHIVED = "archived"


class EndSource(enum.StrEnum):
    """Who set a contract's `ending_before` when it is not the deal's own term."""

    #: sfsync ended it because its deal left Closed Won or was deleted (undone on re-win).
    SYNC = "sync"
    #: An operator ended it; a sync never moves it.
    OPERATOR = "operator"


class RevisionKind(enum.StrEnum):
    """What one change sfsync (or an operator) made to a contract."""

    CREATED = "created"
    TERMS_EDITED = "terms_edited"
    MOVED = "moved"
    ENDED = "ended"
    ARCHIVED = "archived"
    REACTIVATED = "reactivated"


class CustomerStatus(enum.StrEnum):
    """An archived customer gets no new contracts or usage; `merged_into` says if it was merged."""

    ACTIVE = "active"
    ARCHIVED = "archived"


class AliasSource(enum.StrEnum):
    """Where an ingest alias came from: sfsync adds, moves and removes only its own."""

    #: Read from an account at the source (stored as its first source named it).
    EXTERNAL = "salesforce"
    MANUAL = "manual"


class AliasMoveReason(enum.StrEnum):
    """Why a sync moved an alias to another customer or released it."""

    REPARENTED = "reparented"  # its account now sits in another customer's hierarchy
    DETACHED = "detached"  # its account left the customer's hierarchy
    MERGED = "merged"  # its customer was merged into another
    ARCHIVED = "archived"  # its customer was archived


class Stream(enum.StrEnum):
    """Incremental streams, each with its own cursor and lease."""

    OPPORTUNITIES = "opportunities"
    ACCOUNTS = "accounts"
    #: The daily comparison of the org's won deals with the store (`sync.reconcile`); its
    #: lease and run records only, no cursor.
    RECONCILE = "reconcile"


class RunTrigger(enum.StrEnum):
    BEAT = "beat"
    MANUAL = "manual"
    REPLAY = "replay"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    THROTTLED = "throttled"
    SKIPPED = "skipped"


class TaskRunOutcome(enum.StrEnum):
    """How one execution of a task ended, as tallied by `models.operations.task_runtimes`."""

    SUCCEEDED = "succeeded"
    #: It returned, but some or all of its work became dead letters.
    DEAD_LETTERED = "dead_lettered"
    #: It will run again: a retry was scheduled or the message was kept for redelivery.
    RETRIED = "retried"
    #: It raised (its dead letter written where the store allowed).
    FAILED = "failed"


class DeadLetterSource(enum.StrEnum):
    OPPORTUNITY = "salesforce.opportunity"
    ACCOUNT = "salesforce.account"
    USAGE_EVENT = "usage.event"
    WRITEBACK = "salesforce.writeback"
    TASK = "task"


class DeadLetterStatus(enum.StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class WritebackStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"


def in_utc(value: datetime, what: str) -> datetime:
    """An aware `value` in UTC; `InvalidInput` when UTC has no such instant (0001-01-01T00:00
    at +01:00 is in year 0, 9999-12-31T23:59 at -05:00 in year 10000)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"{what} {value.isoformat()} is out of range: in UTC it must fall in years 1 to 9999"
        ) from None


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A new row id: a UUIDv7 (RFC 9562) — 48 bits of Unix milliseconds, then 74 random bits.

    Time-ordered ids make the primary-key indexes of customers and contracts (and the
    custom-field index keyed on them) grow at their end: a backfill of random UUIDv4 ids
    dirtied a different B-tree page per row, and SQLite's checkpoints and PostgreSQL's
    writes paid for every one of them.
    """
    value = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80
    value |= int.from_bytes(os.urandom(10)) & ~(0xF << 76) & ~(0x3 << 62)
    return uuid.UUID(int=value | 0x7 << 76 | 0x2 << 62)


class ApiScope(enum.StrEnum):
    """What an API key may do (`models.operations.api_keys.SCOPE_GRANTS`: which covers which)."""

    INGEST = "ingest"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
