"""Storing a batch of validated usage events: one set-based insert, attributed on the way in.

A known key is attributed at insert time and an id already stored is left untouched
(insert-or-ignore: the first copy wins), each backend the cheapest way its driver offers:

- PostgreSQL: the batch's owners are read (share-locked) and its rows `COPY`ed straight
  into `usage_events` (psycopg's C row writer) inside a savepoint; when the primary key
  refuses an id already stored, the savepoint is rolled back and the rows are `COPY`ed into
  a per-connection temporary staging table, then one `INSERT … SELECT … ON CONFLICT
  (transaction_id) DO NOTHING RETURNING` joins them with `ingest_aliases` and `customers`;
- SQLite: one JSON document per batch, read by `json_each` in that same insert-or-ignore
  statement (a single statement, no per-row driver round trip). The document is encoded in
  one call of the C encoder, each row's properties a string holding their validated JSON
  text, which `json()` checks and stores as is (digits kept).

A key names a customer by its id when `models.keys.customer_id_of_key` says so (validation
has made every key canonical, `models.keys`); alias look-up is the join. Properties go in
as the validated JSON text, so a number keeps its digits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from sfsync.models.dialect import is_postgres
from sfsync.models.keys import customer_id_of_key
from sfsync.models.sql import postgresql, sqlite
from sfsync.models.types import utcnow
from sfsync.models.usage.events import NewEvent

__all__ = ["insert_events"]


def insert_events(
    session: Session, events: Sequence[NewEvent], *, received_at: datetime | None = None
) -> set[str]:
    """Store events (transaction ids unique within `events`); returns the ids newly stored.

    An id already stored is left untouched (insert-or-ignore): the first copy wins.
    """
    if not events:
        return set()
    received = received_at or utcnow()
    conn = session.connection()
    if is_postgres(session):
        return _insert_postgres(session, conn, events, received)
    return _insert_sqlite(conn, events, received)


def _insert_postgres(
    session: Session, conn: Connection, events: Sequence[NewEvent], received: datetime
) -> set[str]:
    # Rows go in transaction-id order, by code point (Python's str order, and COLLATE "C"
    # in SQL), on both paths, so any two batches take the unique index's locks in one order.
    ordered = sorted(events, key=lambda e: e.transaction_id)
    try:
        with session.begin_nested():
            # Asking the session for its connection is what emits the SAVEPOINT. The owners
            # are share-locked inside it: a batch that falls back to insert-or-ignore below
            # gives them up with the savepoint and takes them again in the same order, rather
            # than holding them while it waits for a concurrent batch's ids (which, with
            # alias-set replacements racing, ended in 503s). A transaction is one batch
            # (`ingest_stream`), so no MultiXact grows batch by batch.
            inner = session.connection()
            _copy_direct(inner, ordered, _owners(inner, ordered), received)
        return {e.transaction_id for e in ordered}
    except IntegrityError:
        pass  # an id is stored already: the batch takes the insert-or-ignore path
    conn.exec_driver_sql(postgresql.STAGING)
    conn.exec_driver_sql("DELETE FROM sfsync_usage_staging")
    _copy(conn, postgresql.COPY_STAGING, (_staged(e) for e in ordered))
    rows = conn.exec_driver_sql(postgresql.INSERT_EVENTS, {"received": received})
    return {row[0] for row in rows}


def _owners(conn: Connection, events: Sequence[NewEvent]) -> dict[str, str]:
    """The batch's keys → their owner's id (text): aliases share-locked in alias order, as
    the insert-or-ignore statement locks them; a customer's own id outranks an alias."""
    keys = sorted({e.customer_key for e in events})
    owners: dict[str, str] = dict(_driver_rows(conn, postgresql.OWNERS, (keys,), prepare=False))
    named = [cid for e in events if (cid := customer_id_of_key(e.customer_key))]
    if named:
        found = _driver_rows(conn, postgresql.ACTIVE_CUSTOMERS, (named,), prepare=False)
        owners.update({cid: cid for (cid,) in found})
    return owners


def _copy_direct(
    conn: Connection, events: Sequence[NewEvent], owners: dict[str, str], received: datetime
) -> None:
    # The common batch holds no id stored before: its rows are copied straight into
    # usage_events. A stored id makes the COPY fail on the primary key (waiting first for a
    # concurrent batch holding that id to finish), and the savepoint undoes it.
    _copy(
        conn,
        postgresql.COPY_EVENTS,
        (
            (
                e.transaction_id,
                e.customer_key,
                owners.get(e.customer_key),
                e.event_type,
                e.timestamp,
                e.properties_json,
                received,
            )
            for e in events
        ),
    )


def _staged(e: NewEvent) -> tuple[Any, ...]:
    return (
        e.transaction_id,
        e.customer_key,
        e.event_type,
        e.timestamp,
        e.properties_json,
        customer_id_of_key(e.customer_key),
    )


def _driver_rows(
    conn: Connection, sql: str, params: Sequence[Any], *, prepare: bool | None = None
) -> list[tuple[Any, ...]]:
    # A plain driver fetch: the rows as the driver's tuples, without a SQLAlchemy Row each
    # (half the cost of reading a batch's thousand ids back). `prepare` is psycopg's: None
    # lets it prepare after a few runs, False never (sqlite3 takes no such argument).
    with _driver_errors(conn, sql) as dbapi:
        cursor = dbapi.cursor()
        try:
            if prepare is None:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql, params, prepare=prepare)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows


def _copy(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with _driver_errors(conn, sql) as dbapi, dbapi.cursor() as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


@contextmanager
def _driver_errors(conn: Connection, sql: str) -> Iterator[Any]:
    # COPY has no SQLAlchemy form and the owners' look-up skips SQLAlchemy's rows: both run
    # on the driver's connection, and their errors are wrapped as SQLAlchemy's own here, so
    # the store translates them like any statement's (a lost connection or a cancelled COPY
    # is retried by the caller, not mistaken for a bug; a duplicate id is an IntegrityError).
    dbapi: Any = conn.connection.driver_connection
    base = conn.dialect.loaded_dbapi.Error
    try:
        yield dbapi
    except base as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, None, exc, base, connection_invalidated=lost, dialect=conn.dialect
        ) from exc


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime writes (zero-padded, always microseconds), so
    # range comparisons agree; isoformat is about twice as fast as strftime.
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


# Built once: json.dumps with options builds a new encoder per call, which cost more than
# the encoding itself when it ran twice per event.
_DOCUMENT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _sqlite_row(e: NewEvent) -> list[Any]:
    cid = customer_id_of_key(e.customer_key)
    return [
        e.transaction_id,
        e.customer_key,
        e.event_type,
        _sqlite_time(e.timestamp),
        e.properties_json,
        cid.hex if cid else None,
    ]


def _insert_sqlite(conn: Connection, events: Sequence[NewEvent], received: datetime) -> set[str]:
    payload = _DOCUMENT.encode([_sqlite_row(e) for e in events])
    rows = _driver_rows(conn, sqlite.INSERT_EVENTS, (_sqlite_time(received), payload))
    return {tx for (tx,) in rows}
