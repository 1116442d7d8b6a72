"""The SQL text of the store's measured hot paths, one module per dialect.

Everywhere else models/ writes rows with the ORM, claims with the dialect's insert-or-ignore
(`models.dialect.insert`) and composes set-based statements with SQLAlchemy Core. Text is
written only here, where the database must do what Core cannot spell or spells slower:

- rows and values that travel as one JSON document and are unpacked in SQL (`json_rows`,
  `json_values`, composed into Core statements by `models.jsonrows`);
- SQLite's test of a usage key naming a customer (`sqlite.key_names_customer`);
- the usage insert and the attribution sweep, run on the driver (`INSERT_EVENTS`,
  `RESOLVE_PENDING`, …).

tests/unit/test_sql_style.py holds every `text(` of models/ to these two modules.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Column, Select, Subquery, Table, TextClause
from sqlalchemy.orm import Session

from sfsync.models.dialect import is_postgres
from sfsync.models.sql import postgresql, sqlite

__all__ = ["Dialect", "of"]


class Dialect(Protocol):
    """What each dialect module gives the dialect-neutral statements."""

    def json_rows(self, table: Table, columns: tuple[str, ...], param: str) -> Subquery: ...

    def json_values(self, column: Column[Any], param: str) -> Select[Any] | TextClause: ...


def of(session: Session) -> Dialect:
    """The dialect module of the session's backend."""
    return postgresql if is_postgres(session) else sqlite
