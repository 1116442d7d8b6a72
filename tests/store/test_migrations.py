"""Migrations: the models and the migrations agree, and an un-migrated store says what to do."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Uuid, bindparam, create_engine, inspect, text

from sfsync.models import Store, StoreNotMigrated, open_store
from sfsync.models.operations.notifications import NotificationKey, record_notifications
from sfsync.models.operations.task_runtimes import read_task_runtimes, record_task_runtime
from sfsync.models.tables import Base
from sfsync.models.types import TaskRunOutcome, UTCDateTime
from tests.conftest import POSTGRES_BASE
from tests.store.alembic_steps import migrate, revision_before


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


def _migrated_to(store: Store, revision: str) -> None:
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_migration_0007_gives_existing_aliases_their_source(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Account ids and same-provisioning values become Salesforce-sourced; the rest manual."""
    url = _empty_database(backend, request, tmp_path)
    store = Store(url)
    _migrated_to(store, "0001")
    enterprise, operator = uuid.uuid4(), uuid.uuid4()
    account, child = "001000000000001AAA", "001000000000002AAA"
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    typed = (bindparam("c", type_=Uuid()), bindparam("t", type_=UTCDateTime()))
    with store.engine.begin() as conn:
        for cid, name in ((enterprise, "Enterprise"), (operator, "Hand-made")):
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, created_at, updated_at) "
                    "VALUES (:c, :n, :t, :t)"
                ).bindparams(*typed),
                {"c": cid, "n": name, "t": t0},
            )
        conn.execute(
            text(
                "INSERT INTO custom_field_values (entity, entity_id, key, value, is_unique, "
                "updated_at) VALUES ('customer', :c, 'sfdc_account_id', :v, true, :t)"
            ).bindparams(*typed),
            {"c": enterprise, "v": account, "t": t0},
        )
        for alias, cid, at in [
            (account, enterprise, t0),
            ("ent-field", enterprise, t0 + timedelta(milliseconds=200)),
            (child, enterprise, t0),
            ("ent-ops", enterprise, t0 + timedelta(days=1)),
            ("by-hand", operator, t0),
        ]:
            conn.execute(
                text(
                    "INSERT INTO ingest_aliases (alias, customer_id, created_at) "
                    "VALUES (:a, :c, :t)"
                ).bindparams(*typed),
                {"a": alias, "c": cid, "t": at},
            )
    store.upgrade()
    with store.engine.connect() as conn:
        rows = {
            alias: (source, account_id, field)
            for alias, source, account_id, field in conn.execute(
                text("SELECT alias, source, source_account_id, source_field FROM ingest_aliases")
            )
        }
        statuses = set(conn.execute(text("SELECT status FROM customers")).scalars())
    store.close()
    assert rows == {
        account: ("salesforce", account, "Id"),
        child: ("salesforce", child, "Id"),
        "ent-field": ("salesforce", account, None),
        "ent-ops": ("manual", None, None),
        "by-hand": ("manual", None, None),
    }
    assert statuses == {"active"}


def _empty_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all, on the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"

    request.getfixturevalue("postgres_url")  # skips (or fails) when PostgreSQL is absent
    name = f"sfsync_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return f"{POSTGRES_BASE.rpartition('/')[0]}/{name}"


def test_usage_events_lose_their_customer_foreign_key_keeping_stored_events(
    store: Store,
) -> None:
    """Migration 0009 drops the key on a store holding events; attribution is unchanged."""
    migrate(store, "0008")  # the revision before 0009
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
    migrate(store, "head")
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


def test_task_runtimes_table_is_added_to_a_store_holding_data(store: Store) -> None:
    """Migration 0010 adds an empty tally table next to existing rows; down again drops it."""
    migrate(store, "0009")  # the revision before 0010
    customer = uuid.uuid4()
    value = str(customer) if store.dialect == "postgresql" else customer.hex
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, created_at, updated_at) "
                "VALUES (:id, 'Acme', :t, :t)"
            ),
            {"id": value, "t": "2026-11-20 10:00:00.000000"},
        )
    migrate(store, "head")
    with store.reader() as s:
        assert read_task_runtimes(s) == ()
    with store.session() as s:
        record_task_runtime(s, "sfsync.usage.ingest", TaskRunOutcome.SUCCEEDED, 0.5)
    with store.engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM customers")).scalars().all()
    assert names == ["Acme"]
    migrate(store, "0009")
    with store.engine.connect() as conn:
        assert "task_runtimes" not in inspect(conn).get_table_names()
    migrate(store, "head")


def test_outbound_notifications_are_rekeyed_by_org_keeping_stored_rows(store: Store) -> None:
    """Migration 0013 keeps rows (their org unknown: empty) under the new key; down again too."""
    opportunity = "0065g000000000QAAQ"
    migrate(store, revision_before(store, "0013"))
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbound_notifications (notification_id, object_id, received_at,"
                " enqueued_at) VALUES ('n1', :o, :t, :t)"
            ),
            {"o": opportunity, "t": "2026-12-07 10:00:00.000000"},
        )
    migrate(store, "head")
    with store.engine.connect() as conn:
        key = inspect(conn).get_pk_constraint("outbound_notifications")["constrained_columns"]
        rows = conn.execute(
            text("SELECT organization_id, notification_id, object_id FROM outbound_notifications")
        ).all()
    assert key == ["organization_id", "notification_id", "object_id"]
    assert [tuple(r) for r in rows] == [("", "n1", opportunity)]
    with store.session() as s:
        todo = record_notifications(
            s, "00D5g000004ABCDEA4", {"n1": opportunity}, retention=timedelta(days=3650)
        )
    assert todo == [NotificationKey("n1", opportunity)]
    migrate(store, revision_before(store, "0013"))
    try:
        with store.engine.connect() as conn:
            ids = conn.execute(text("SELECT notification_id FROM outbound_notifications")).all()
    finally:
        # The store is shared with the tests that follow: back to the head for them.
        migrate(store, "head")
    assert [tuple(r) for r in ids] == [("n1",)]
