"""Many rows in one statement: the rows travel as one JSON document that the database unpacks.

SQLAlchemy's executemany and expanding IN-lists bind and type-process every value in Python
(tens of microseconds a row, and 500 values a statement on SQLite); provisioning a page
writes thousands of rows. Here a statement gets its rows as a single JSON array — encoded by
`json.dumps`, in C — and unpacks it in SQL: SQLite's ``json_each``, PostgreSQL's
``json_array_elements`` with a cast per column. One bind per statement, any number of rows.

The encoders mirror the column types' own bind processing (`models.types`, SQLAlchemy's
`Uuid` and `Enum`), so a row written here is stored exactly as the ORM would store it:
UUIDs as 32 hex digits on SQLite, UTC datetimes as SQLAlchemy's SQLite text, money as plain
decimal text, enums by value. tests/store/test_jsonrows.py reads rows of both kinds back
through the ORM on both backends.

Statements are SQLAlchemy Core over the dialect's unpacking of the document (`models.sql`),
built from the tables of `models.tables` only, never from values.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Enum,
    Select,
    Subquery,
    Table,
    Uuid,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from sfsync.models import sql
from sfsync.models.dialect import insert, is_postgres
from sfsync.models.types import Money, UTCDateTime, plain_decimal

__all__ = [
    "as_uuid",
    "document",
    "in_json",
    "insert_rows",
    "owners",
    "rows_of",
    "select_in",
    "table_of",
    "update_rows",
    "uuid_reader",
    "values",
]

Encoder = Callable[[Any], Any]


def table_of(entity: type[Any]) -> Table:
    """The `Table` of a mapped class (typed as one, which `__table__` is not)."""
    table: Table = entity.__table__
    return table


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
    return value.astimezone(UTC)


def _encoder(column: Column[Any], postgres: bool) -> Encoder | None:
    kind = column.type
    if isinstance(kind, Uuid):
        return str if postgres else (lambda v: v.hex)
    if isinstance(kind, UTCDateTime):
        if postgres:
            return lambda v: _aware(v).isoformat()
        # SQLAlchemy's SQLite text form ("%Y-%m-%d %H:%M:%S.%f"), written faster than strftime.
        return lambda v: _aware(v).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(kind, Money):
        return lambda v: format(plain_decimal(Decimal(v)), "f")
    if isinstance(kind, Enum):
        return lambda v: v.value if isinstance(v, enum.Enum) else v
    return None  # stored as JSON gives it


def document(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> str:
    """`rows` (values in `columns` order) as the JSON document `unpack` reads."""
    postgres = is_postgres(session)
    # Column by column: a column stored as JSON gives it costs nothing, and the others run
    # one tight loop each instead of a small list per row.
    by_column = list(zip(*rows, strict=True))
    if not by_column:
        return "[]"
    encoded = []
    for name, values in zip(columns, by_column, strict=True):
        encode = _memo(_encoder(table.c[name], postgres))
        encoded.append(
            values if encode is None else [None if v is None else encode(v) for v in values]
        )
    return json.dumps(list(zip(*encoded, strict=True)), separators=(",", ":"))


def _memo(encode: Encoder | None) -> Encoder | None:
    """`encode` remembering its answers for one document: a page's rows share most of their
    timestamps (`now`, close dates), enum values and owners."""
    if encode is None:
        return None
    seen: dict[Any, Any] = {}

    def encode_once(value: Any) -> Any:
        found = seen.get(value, seen)
        if found is seen:
            found = seen[value] = encode(value)
        return found

    return encode_once


def rows_of(
    session: Session, table: Table, columns: Sequence[str], param: str = "rows"
) -> Subquery:
    """The JSON rows in `:param` (a `document`) as a subquery `r` of typed `columns`."""
    return sql.of(session).json_rows(table, tuple(columns), param)


def in_json(session: Session, column: Column[Any], param: str) -> ColumnElement[bool]:
    """``<column> IN (<the JSON array of values in :param>)`` for the session's backend."""
    return column.in_(sql.of(session).json_values(column, param))


def values(session: Session, column: Column[Any], items: Iterable[Any]) -> str:
    """`items` as the JSON array `in_list` reads (encoded as `column` stores them)."""
    encode = _encoder(column, is_postgres(session))
    listed = list(items) if encode is None else [encode(item) for item in items]
    return json.dumps(listed, separators=(",", ":"))


def select_in(
    session: Session,
    statement: Select[Any],
    column: Column[Any],
    items: Iterable[Any],
    params: Mapping[str, Any] | None = None,
) -> Sequence[Row[Any]]:
    """The rows of `statement` narrowed to `column IN items`.

    One statement for any number of `items` (each once). Flushes the session first, as the
    ORM's autoflush would before a query.
    """
    wanted = list(dict.fromkeys(items))
    if not wanted:
        return []
    session.flush()
    rows = session.connection().execute(
        statement.where(in_json(session, column, "items")),
        {**(params or {}), "items": values(session, column, wanted)},
    )
    return rows.all()  # one fetch, not one per row


def owners(rows: Iterable[Row[Any]]) -> dict[Any, uuid.UUID]:
    """key → UUID of `(key, uuid)` rows from `select_in`."""
    as_id = uuid_reader()
    return {key: as_id(owner) for key, owner in rows}


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    on_conflict: Sequence[str] | None = None,
    returning: str | None = None,
    order_by: str | None = None,
) -> list[Any]:
    """INSERT ... SELECT from the JSON rows; returns the `returning` column of rows inserted.

    `on_conflict` is the conflict target (``("alias",)``; ``()`` for any) of a DO NOTHING.
    `order_by` (a column) fixes the order PostgreSQL takes the unique index's locks in, so two
    writers inserting overlapping keys wait for each other instead of deadlocking.
    """
    if not rows:
        return []
    r = rows_of(session, table, columns)
    # `WHERE true`: SQLite parses an upsert's SELECT only with a WHERE clause.
    source = select(*(r.c[name] for name in columns)).where(true())
    if order_by is not None and is_postgres(session):
        source = source.order_by(r.c[order_by])
    # Only the given columns: the others take the database's defaults, as one row would.
    statement = insert(session, table).from_select(list(columns), source, include_defaults=False)
    if on_conflict is not None:
        statement = statement.on_conflict_do_nothing(index_elements=list(on_conflict) or None)
    if returning is not None:
        statement = statement.returning(table.c[returning])
    result = session.connection().execute(
        statement, {"rows": document(session, table, columns, rows)}
    )
    return list(result.scalars()) if returning is not None else []


def update_rows(
    session: Session,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unless_equal: Sequence[str] = (),
) -> list[Any]:
    """UPDATE `table` SET `columns` (after the key) FROM the JSON rows WHERE `key` matches.

    With `unless_equal`, only rows where one of those columns differs are written. Returns
    the keys of the rows written.
    """
    if not rows:
        return []
    r = rows_of(session, table, columns)
    statement = (
        update(table)
        .values({name: r.c[name] for name in columns if name != key})
        .where(table.c[key] == r.c[key])
        .returning(table.c[key])
    )
    if unless_equal:
        statement = statement.where(
            or_(*(table.c[c].is_distinct_from(r.c[c]) for c in unless_equal))
        )
    result = session.connection().execute(
        statement, {"rows": document(session, table, columns, rows)}
    )
    return list(result.scalars().all())


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID column's value as read by a text statement (hex text on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


def uuid_reader() -> Callable[[Any], uuid.UUID]:
    """`as_uuid` remembering its answers: a look-up's rows repeat few owners many times."""
    seen: dict[Any, uuid.UUID] = {}

    def read(value: Any) -> uuid.UUID:
        found = seen.get(value)
        if found is None:
            found = seen[value] = as_uuid(value)
        return found

    return read
