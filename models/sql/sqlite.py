"""SQLite's SQL text for the hot paths (see `models.sql`).

JSON documents are unpacked with ``json_each``; values are compared as SQLite stores them
(`models.jsonrows` encodes them so: UUIDs as 32 hex digits, datetimes as SQLAlchemy's text).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Subquery, Table, TextClause, TextualSelect, column, text

__all__ = [
    "INSERT_EVENTS",
    "RESOLVE_PENDING",
    "json_rows",
    "json_values",
    "key_names_customer",
]


def json_rows(table: Table, columns: tuple[str, ...], param: str) -> Subquery:
    """The JSON array of rows in `:param` as a subquery `r` of `table`'s typed `columns`."""
    select = ", ".join(f"j.value ->> {i} AS {name}" for i, name in enumerate(columns))
    rows = text(f"SELECT {select} FROM json_each(:{param}) AS j")
    return rows.columns(*(column(name, table.c[name].type) for name in columns)).subquery("r")


def json_values(column_: Column[Any], param: str) -> TextualSelect:
    """The JSON array of values in `:param`, for `column_.in_(...)`."""
    return text(f"SELECT v.value FROM json_each(:{param}) AS v").columns(
        column("value", column_.type)
    )


# SQLite stores a customer's id as 32 hex digits; a key names one only in canonical
# 8-4-4-4-12 form. A template over the event table's and the customer table's names.
_KEY_NAMES_CUSTOMER = """
    length({e}.customer_key) = 36
    AND substr({e}.customer_key, 9, 1) = '-' AND substr({e}.customer_key, 14, 1) = '-'
    AND substr({e}.customer_key, 19, 1) = '-' AND substr({e}.customer_key, 24, 1) = '-'
    AND {c}.id = replace({e}.customer_key, '-', '') AND {c}.status = 'active'
"""


def key_names_customer(events: str, customers: str) -> TextClause:
    """The condition that the key of the `events` row is the id of the active `customers` row."""
    return text(_KEY_NAMES_CUSTOMER.format(e=events, c=customers))


_NAMES_ROW = _KEY_NAMES_CUSTOMER.format(c="c", e="usage_events")
_NAMES_E = _KEY_NAMES_CUSTOMER.format(c="c", e="e")

#: SQLite runs one writer at a time (BEGIN IMMEDIATE), so a plain batched UPDATE is exact
#: (`models.usage.events.resolve_pending`; one `?`: the batch's size).
RESOLVE_PENDING = f"""
UPDATE usage_events
SET customer_id = coalesce(
    (SELECT c.id FROM customers AS c WHERE {_NAMES_ROW}),
    (SELECT a.customer_id FROM ingest_aliases AS a WHERE a.alias = usage_events.customer_key)
)
WHERE transaction_id IN (
    SELECT e.transaction_id FROM usage_events AS e
    WHERE e.customer_id IS NULL
      AND (EXISTS (SELECT 1 FROM ingest_aliases AS a WHERE a.alias = e.customer_key)
           OR EXISTS (SELECT 1 FROM customers AS c WHERE {_NAMES_E}))
    LIMIT ?
)
"""

#: The usage insert (`models.usage.insert`): `?` the receipt time, `?` the JSON rows.
INSERT_EVENTS = """
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
