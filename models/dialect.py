"""Dialect-specific statements the store needs on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["IN_LIST_CHUNK", "in_chunks", "insert", "is_postgres"]

T = TypeVar("T")

#: Values per IN list: a statement takes only so many bound parameters (SQLite's limit is
#: the lower), so a look-up of many keys is one statement per chunk.
IN_LIST_CHUNK = 500


def in_chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `IN_LIST_CHUNK`, for one IN list each."""
    for start in range(0, len(items), IN_LIST_CHUNK):
        yield items[start : start + IN_LIST_CHUNK]


def insert(session: Session, table: Table | Any) -> Any:
    """An INSERT that supports ON CONFLICT for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
