"""stream cursors stored as text, typed by their stream

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-08 00:45:00

`sync_cursors.position` and `sync_runs.cursor_before` / `cursor_after` were timestamps (a
SystemModstamp). A stream's cursor is now text its stream types (`models.cursors`): an
instant is kept as ISO 8601 UTC text, so a source whose cursor is an opaque replay id can
store it too. Existing values are converted both ways, in Python: the same code on SQLite
(naive UTC text) and PostgreSQL (timestamptz).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from sfsync.models.types import UTCDateTime

revision = "0019"
down_revision = "0011"
branch_labels = None
depends_on = None

#: (table, key column, cursor columns)
CURSORS = (
    ("sync_cursors", "stream", ("position",)),
    ("sync_runs", "id", ("cursor_before", "cursor_after")),
)


def _as_text(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _as_instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value is not None else None


def _convert(
    old: sa.types.TypeEngine[Any],
    new: sa.types.TypeEngine[Any],
    convert: Callable[[Any], object],
) -> None:
    """Each cursor column re-typed from `old` to `new`, its values passed through `convert`."""
    conn = op.get_bind()
    for table, key, columns in CURSORS:
        key_type: sa.types.TypeEngine[Any] = sa.String() if key == "stream" else sa.Integer()
        source = sa.table(table, sa.column(key, key_type), *(sa.column(c, old) for c in columns))
        rows = conn.execute(sa.select(source)).all()
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(f"{column}_new", new, nullable=True))
        target = sa.table(
            table, sa.column(key, key_type), *(sa.column(f"{c}_new", new) for c in columns)
        )
        for row in rows:
            values = {f"{c}_new": convert(getattr(row, c)) for c in columns}
            conn.execute(
                sa.update(target).where(target.c[key] == getattr(row, key)).values(**values)
            )
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
                batch.alter_column(f"{column}_new", new_column_name=column)


def upgrade() -> None:
    _convert(UTCDateTime(), sa.Text(), _as_text)


def downgrade() -> None:
    _convert(sa.Text(), UTCDateTime(), _as_instant)
