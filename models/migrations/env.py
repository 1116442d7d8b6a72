"""Alembic environment, driven from Python (`Store.upgrade`): the connection is passed in."""

from __future__ import annotations

from alembic import context

from sfsync.models.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through Store.upgrade
    raise RuntimeError("run migrations through `sfsync db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
