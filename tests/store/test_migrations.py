"""Migrations: the models and the migrations agree, and an un-migrated store says what to do."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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
    store = open_store(f"sqlite:///{tmp_path / 'new' / 'store.db'}")
    assert store.current_revision() == store.head_revision()
    store.close()


def test_store_behind_its_migrations_asks_for_db_upgrade(tmp_path: Path) -> None:
    """Without auto-migration an empty database is refused with the command to run."""
    with pytest.raises(StoreNotMigrated, match="sfsync db upgrade"):
        open_store(f"sqlite:///{tmp_path / 'empty.db'}", auto_migrate=False)


def _migrate(store: Store, revision: str) -> None:
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def test_usage_events_lose_their_customer_foreign_key_keeping_stored_events(
    store: Store,
) -> None:
    """Migration 0009 drops the key on a store holding events; attribution is unchanged."""
    _migrate(store, "0004")
    customer = uuid.uuid4()
    value = str(customer) if store.dialect == "postgresql" else customer.hex
    when = "2026-11-20 10:00:00.000000"
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, created_at, updated_at) "
                "VALUES (:id, 'Acme', :t, :t)"
            ),
            {"id": value, "t": when},
        )
        conn.execute(
            text(
                "INSERT INTO usage_events (transaction_id, customer_key, customer_id, event_type,"
                " timestamp, properties, received_at) VALUES "
                "('a', 'acme', :id, 'call', :t, '{\"n\": 1}', :t), "
                "('b', 'later', NULL, 'call', :t, '{}', :t)"
            ),
            {"id": value, "t": when},
        )
    _migrate(store, "head")
    with store.engine.connect() as conn:
        keys = inspect(conn).get_foreign_keys("usage_events")
        rows = conn.execute(
            text("SELECT transaction_id, customer_id FROM usage_events ORDER BY transaction_id")
        ).all()
    assert keys == []
    assert [(tx, None if cid is None else uuid.UUID(str(cid))) for tx, cid in rows] == [
        ("a", customer),
        ("b", None),
    ]
