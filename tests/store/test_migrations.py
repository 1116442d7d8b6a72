"""Migrations: the models and the migrations agree, and an un-migrated store says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from models import Store, StoreNotMigrated, open_store
from models.tables import Base


def test_models_and_migrations_do_not_drift(store: Store) -> None:
    """Autogenerate finds nothing to change between the migrated schema and the models."""
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_migration_registers_the_unique_sfdc_keys(store: Store) -> None:
    """The initial migration registers sfdc_account_id and sfdc_opportunity_id as unique."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity, key FROM custom_field_keys WHERE enforce_uniqueness")
        ).all()
    assert {("customer", "sfdc_account_id"), ("contract", "sfdc_opportunity_id")} <= set(rows)


def test_sqlite_store_migrates_itself_on_first_use(tmp_path: Path) -> None:
    """The embedded default needs no `db upgrade`."""
    (tmp_path / "new").mkdir()
    store = open_store(f"sqlite:///{tmp_path / 'new' / 'store.db'}")
    assert store.current_revision() == store.head_revision()
    store.close()


def test_store_behind_its_migrations_asks_for_db_upgrade(tmp_path: Path) -> None:
    """Without auto-migration an empty database is refused with the command to run."""
    with pytest.raises(StoreNotMigrated, match="sfsync db upgrade"):
        open_store(f"sqlite:///{tmp_path / 'empty.db'}", auto_migrate=False)
