"""Filtered look-ups for the operations console and the CLI: runs, dead letters, customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, field_value
from sfsync.models.customers.records import find_customer
from sfsync.models.errors import NotFound
from sfsync.models.keys import canonical_key, customer_id_of_key
from sfsync.models.tables import Customer, CustomFieldValue, DeadLetter, IngestAlias, SyncRun
from sfsync.models.types import DeadLetterSource, DeadLetterStatus, Entity, RunStatus, Stream

__all__ = [
    "count_letters",
    "count_of",
    "count_runs",
    "customer_by_id_or_alias",
    "find_letters",
    "find_runs",
    "search_customers",
]


def _contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, case-insensitively (escaped with \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _runs(stream: Stream | None, status: RunStatus | None) -> Select[tuple[SyncRun]]:
    query = select(SyncRun)
    if stream is not None:
        query = query.where(SyncRun.stream == stream)
    if status is not None:
        query = query.where(SyncRun.status == status)
    return query


def find_runs(
    session: Session,
    *,
    stream: Stream | None = None,
    status: RunStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SyncRun]:
    """Runs, newest first (`offset` of them skipped)."""
    query = _runs(stream, status).order_by(SyncRun.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def count_runs(
    session: Session, *, stream: Stream | None = None, status: RunStatus | None = None
) -> int:
    """How many runs `find_runs` pages through with these filters."""
    return count_of(session, _runs(stream, status))


def _letters(
    source: DeadLetterSource | None,
    status: DeadLetterStatus | None,
    error: str | None,
    since: datetime | None,
) -> Select[tuple[DeadLetter]]:
    query = select(DeadLetter)
    if source is not None:
        query = query.where(DeadLetter.source == source)
    if status is not None:
        query = query.where(DeadLetter.status == status)
    if error:
        pattern = _contains(error)
        query = query.where(
            or_(
                func.lower(DeadLetter.error_class).like(pattern, escape="\\"),
                func.lower(DeadLetter.error_message).like(pattern, escape="\\"),
            )
        )
    if since is not None:
        query = query.where(DeadLetter.last_failed_at >= since)
    return query


def find_letters(
    session: Session,
    *,
    source: DeadLetterSource | None = None,
    status: DeadLetterStatus | None = None,
    error: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[DeadLetter]:
    """Dead letters, newest failure first; `error` matches the class or the message."""
    query = _letters(source, status, error, since).order_by(
        DeadLetter.last_failed_at.desc(), DeadLetter.id.desc()
    )
    return list(session.scalars(query.offset(offset).limit(limit)))


def count_letters(
    session: Session,
    *,
    source: DeadLetterSource | None = None,
    status: DeadLetterStatus | None = None,
    error: str | None = None,
    since: datetime | None = None,
) -> int:
    """How many letters `find_letters` pages through with these filters."""
    return count_of(session, _letters(source, status, error, since))


def count_of(session: Session, query: Select[Any]) -> int:
    """The number of rows `query` selects."""
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def customer_by_id_or_alias(session: Session, text: str) -> Customer:
    """The customer whose id, or one of whose aliases, `text` is (what usage is keyed on),
    in any spelling of either (`models.keys`); `text` is what errors name."""
    customer_id = customer_id_of_key(text)
    found = None if customer_id is None else find_customer(session, customer_id=customer_id)
    if found is None:
        found = find_customer(session, alias=text)
    if found is None:
        raise NotFound(f"no customer with id or alias {text!r}")
    return found


def search_customers(session: Session, text: str, *, limit: int = 50) -> list[Customer]:
    """Customers whose name contains `text`, or holding it as an alias or account id."""
    text = text.strip()
    if not text:
        return []
    key = canonical_key(text)
    by_alias = select(IngestAlias.customer_id).where(IngestAlias.alias == key)
    by_account = select(CustomFieldValue.entity_id).where(
        CustomFieldValue.entity == Entity.CUSTOMER,
        CustomFieldValue.key == SFDC_ACCOUNT_ID,
        CustomFieldValue.value == field_value(SFDC_ACCOUNT_ID, text),
    )
    query = (
        select(Customer)
        .where(
            or_(
                func.lower(Customer.name).like(_contains(text), escape="\\"),
                Customer.id.in_(by_alias),
                Customer.id.in_(by_account),
            )
        )
        .order_by(Customer.name, Customer.id)
        .limit(limit)
    )
    return list(session.scalars(query))
