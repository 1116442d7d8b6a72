"""Shared fixtures: a migrated store on SQLite and PostgreSQL, and an isolated environment."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sfsync.config import Settings
from sfsync.models import Store, open_store
from sfsync.models.tables import Base

#: Fixtures kept in helper modules, available to every test folder.
pytest_plugins = ["tests.support.in_process"]

REQUIRE_SERVICES = os.environ.get("SFSYNC_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_BASE = os.environ.get(
    "SFSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# One Redis database per pytest-xdist worker (the worker tests flush theirs); 13 and 14 are
# the benchmarks'.
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
REDIS_URL = os.environ.get(
    "SFSYNC_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{(15, 12, 11, 10, 9, 8, 7, 6)[_XDIST_INDEX]}"
)
SEEDED_KEYS = {
    ("customer", "sfdc_account_id"),
    ("contract", "sfdc_opportunity_id"),
    ("customer", "internal_customer_id"),
}


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return "SFSYNC_TEST_POSTGRES_URL" in os.environ or _port_open("127.0.0.1", 5432)


def redis_available() -> bool:
    return _port_open("127.0.0.1", 6379)


def need(available: bool, what: str) -> None:
    """Skip with a reason, or fail when CI says the service must be there."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (SFSYNC_TEST_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{what} not reachable; set SFSYNC_TEST_POSTGRES_URL or start it to run these")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    name = f"sfsync_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = POSTGRES_BASE.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def postgres_store(postgres_url: str) -> Iterator[Store]:
    store = open_store(postgres_url, auto_migrate=True)
    yield store
    store.close()


def _truncate(store: Store) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "custom_field_keys"]
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "DELETE FROM custom_field_keys WHERE (entity, key) NOT IN "
                "(('customer','sfdc_account_id'),('contract','sfdc_opportunity_id'),"
                "('customer','internal_customer_id'))"
            )
        )


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test on each store backend."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated store on the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "store.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    pg: Store = request.getfixturevalue("postgres_store")
    _truncate(pg)
    return pg.url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An empty, migrated store on the test's backend."""
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data folder, isolated from the developer's environment."""
    return Settings(_env_file=None, data_dir=tmp_path / "data")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SFSYNC_ variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("SFSYNC_") and not name.startswith("SFSYNC_TEST_"):
            monkeypatch.delenv(name)


@contextmanager
def table_locked(store_url: str, table: str) -> Iterator[None]:
    """Hold a lock that blocks writes to `table` from another connection (SQLite: the whole
    database, as a writer there does)."""
    if store_url.startswith("sqlite"):
        holder = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(store_url)
    with engine.connect() as conn:
        conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def appears(condition: Callable[[], bool], within: float) -> bool:
    """Whether `condition` becomes true within `within` seconds (polled)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def run_all(targets: list[Callable[[], None]]) -> list[BaseException]:
    """Start every target at once (a barrier), join them all; the errors they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return errors
