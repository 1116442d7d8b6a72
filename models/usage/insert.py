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
from sfsync.models.types import utcnow
from sfsync.models.usage.events import NewEvent

__all__ = ["insert_events"]

_SQLITE_INSERT = """
INSERT INTO usage_events
    (transaction_id, customer_key, customer_id, event_type, timestamp, properties, received_at)
SELECT j.value ->> 0, j.value ->> 1, coalesce(c.id, a.customer_id), j.value ->> 2,
       j.value ->> 3, json(j.value ->> 4), ?
FROM json_each(?) AS j
LEFT JOIN ingest_aliases AS a ON a.alias = j.value ->> 1
LEFT JOIN customers AS c ON c.id = j.value ->> 5 AND c.status = 'active'
WHERE true
ON CONFLICT (transaction_id) DO NOTHING
RETURNING transaction_id
"""

# Temporary: private to the connection, no WAL, gone with the connection. Emptied before
# each batch (a transaction may stage several) and, at commit, truncated in place, so it
# never holds more than one transaction's dead rows.
_PG_STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS sfsync_usage_staging (
    t text NOT NULL, k text NOT NULL, e text NOT NULL, s timestamptz NOT NULL,
    p json NOT NULL, c uuid
) ON COMMIT DELETE ROWS
"""
_PG_COPY = "COPY sfsync_usage_staging (t, k, e, s, p, c) FROM STDIN"
_PG_COPY_EVENTS = (
    "COPY usage_events (transaction_id, customer_key, customer_id, event_type, timestamp, "
    "properties, received_at) FROM STDIN"
)
# Owners come back as text, which COPY takes as is: no UUID object made and dumped again.
# The keys go as a binary array (%b): the text form quotes each element through a regular
# expression, 0.35 ms more per batch of 1,000.
_PG_OWNERS = (
    "SELECT alias, customer_id::text FROM ingest_aliases WHERE alias = ANY(%b) "
    "ORDER BY alias FOR SHARE"
)
_PG_CUSTOMERS = "SELECT id::text FROM customers WHERE id = ANY(%b) AND status = 'active'"
# Both look-ups send an array of keys, and are planned per call (never prepared): once
# psycopg prepares a statement (its fifth run) PostgreSQL may switch to a generic plan, and
# for `= ANY($1)` that is a sequential scan searching the array for every row (16 ms a
# batch against under 1 ms with a plan made for the array at hand).

# The aliases a batch uses are share-locked (in a fixed order) for the statement's
# transaction: a concurrent move or removal of one of them waits for this insert to commit
# and then re-attributes its rows, and an insert that comes second sees the new owner.
# Without it an insert could attribute to an owner whose removal commits meanwhile, which
# the pending sweep (it only looks at unattributed rows) would never correct.
# Rows are inserted in transaction-id order (ORDER BY b.t, by code point): two batches
# that share ids, ingested at once, then take the unique index's locks in the same order
# and one waits for the other instead of both deadlocking (found by tests/reliability:
# overlapping batches from two workers deadlocked until a batch ran out of retries and was
# dead-lettered).
_PG_INSERT = """
WITH owners AS (
    SELECT alias, customer_id FROM ingest_aliases
    WHERE alias IN (SELECT k FROM sfsync_usage_staging)
    ORDER BY alias
    FOR SHARE
)
INSERT INTO usage_events
    (transaction_id, customer_key, customer_id, event_type, timestamp, properties, received_at)
SELECT b.t, b.k, coalesce(c.id, o.customer_id), b.e, b.s, b.p, %(received)s
FROM sfsync_usage_staging AS b
LEFT JOIN owners AS o ON o.alias = b.k
LEFT JOIN customers AS c ON c.id = b.c AND c.status = 'active'
ORDER BY b.t COLLATE "C"
ON CONFLICT (transaction_id) DO NOTHING
RETURNING transaction_id
"""


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
    conn.exec_driver_sql(_PG_STAGING)
    conn.exec_driver_sql("DELETE FROM sfsync_usage_staging")
    _copy(conn, _PG_COPY, (_staged(e) for e in ordered))
    rows = conn.exec_driver_sql(_PG_INSERT, {"received": received})
    return {row[0] for row in rows}


def _owners(conn: Connection, events: Sequence[NewEvent]) -> dict[str, str]:
    """The batch's keys → their owner's id (text): aliases share-locked in alias order, as
    the insert-or-ignore statement locks them; a customer's own id outranks an alias."""
    keys = sorted({e.customer_key for e in events})
    owners: dict[str, str] = dict(_driver_rows(conn, _PG_OWNERS, (keys,), prepare=False))
    named = [cid for e in events if (cid := customer_id_of_key(e.customer_key))]
    if named:
        found = _driver_rows(conn, _PG_CUSTOMERS, (named,), prepare=False)
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
        _PG_COPY_EVENTS,
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
    rows = _driver_rows(conn, _SQLITE_INSERT, (_sqlite_time(received), payload))
    return {tx for (tx,) in rows}
