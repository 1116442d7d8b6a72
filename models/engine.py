"""Engine, sessions and migrations of the store; database errors are translated on the way out
(`models.db_errors`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from sfsync.models import exactjson
from sfsync.models.db_errors import translate
from sfsync.models.deadline import Deadline
from sfsync.models.errors import (
    DeadlinePassed,
    StoreNotMigrated,
    StoreUnreachable,
)

__all__ = [
    "MIGRATIONS",
    "RolledBackStore",
    "Store",
    "make_engine",
    "normalize_url",
    "open_store",
]

MIGRATIONS = Path(__file__).parent / "migrations"

#: SQLite's message for a write through a connection it opened read-only (SQLITE_READONLY).
_READ_ONLY_CONNECTION = "attempt to write a readonly database"
#: Execution option marking the connections of `Store.reader` sessions.
_READER = "sfsync_reader"
#: Execution option carrying a session's `Deadline`.
_DEADLINE = "sfsync_deadline"
#: SQLite's busy wait without a deadline (ms): long, since a writer queues behind another.
_BUSY_MS = 60_000


def _deadline_ms(conn: Any) -> int | None:
    """Milliseconds left of the connection's deadline (at least 1), or None without one."""
    deadline: Deadline | None = conn.get_execution_options().get(_DEADLINE)
    if deadline is None:
        return None
    left = deadline.remaining()
    if left <= 0:
        raise DeadlinePassed("the request's time limit passed before its transaction began")
    return max(1, int(left * 1000))


def normalize_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver sfsync ships with."""
    return re.sub(r"^(postgres|postgresql)://", "postgresql+psycopg://", url)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the store URL, with SQLite set up for several processes (WAL, busy wait).

    Raises `StoreUnreachable` for a URL no engine can be made of (say why, never a traceback).
    """
    url = normalize_url(url)
    # Decimals in JSON columns (usage properties, dead-letter payloads) keep their digits.
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("json_deserializer", _json_value)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(url, parsed.database, **kwargs)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "postgresql":
            event.listen(engine, "begin", _bound_postgres_transaction)
        return engine
    except (NoSuchModuleError, ImportError) as exc:  # NoSuchModuleError is an ArgumentError
        raise StoreUnreachable(
            f"cannot open the store at {_safe_url(url)}: no database driver for it ({exc})"
        ) from None
    except ArgumentError:
        raise StoreUnreachable("cannot open the store: not a database URL") from None


def _bound_postgres_transaction(conn: Any) -> None:
    # Within a deadline no statement, nor any wait for a lock, outlives it: the server
    # cancels it (SQLSTATE 57014 / 55P03, both transient) and the transaction rolls back.
    ms = _deadline_ms(conn)
    if ms is not None:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")


def _json_text(value: Any) -> str:
    return exactjson.dumps(value, ensure_ascii=True)


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        # An integer longer than `int` parses (a hostile payload kept in a dead letter).
        return json.loads(text, parse_int=exactjson.parse_int)


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).parent
        if not folder.is_dir():
            # Creating it would hide a typo in the URL behind a new, empty store.
            raise StoreUnreachable(
                f"cannot open the store at {_safe_url(url)}: the folder {str(folder)!r} "
                "does not exist"
            )
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is
        # DEFERRED, and a deferred reader that later writes fails with SQLITE_BUSY instead
        # of waiting).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers queue on the busy
        # timeout instead of failing on a lock upgrade. A reader (`Store.reader`) needs no
        # lock: in WAL mode it reads the last commit while the writer goes on.
        reader = conn.get_execution_options().get(_READER, False)
        # Within a deadline the wait for the write lock ends with it (SQLite has no
        # statement timeout; its busy wait is what a blocked write spends its time on).
        busy = _deadline_ms(conn) or _BUSY_MS
        if conn.info.get("busy_ms") != busy:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={busy}")
            conn.info["busy_ms"] = busy
        conn.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # SQLite opens a file it may not write read-only, and such a connection stays
        # read-only after the file is writable again: one opened during an outage (a full
        # disk, a read-only mount) would fail every write for the life of the process.
        # Treated as a lost connection, it is discarded and the next checkout opens anew.
        if _READ_ONLY_CONNECTION in str(context.original_exception):
            context.is_disconnect = True

    return engine


class Store:
    """The store: an engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{_READER: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, deadline: Deadline | None = None) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        With a `deadline`, statements and lock waits end with it, and the commit happens only
        if claimed before it passes (else `DeadlinePassed`, the transaction rolled back).
        Database exceptions leave as `StoreError`s (`raise ... from exc`).
        """
        factory = self._sessions
        if deadline is not None:
            factory = sessionmaker(
                self.engine.execution_options(**{_DEADLINE: deadline}), expire_on_commit=False
            )
        with factory() as session:
            try:
                with session.begin():
                    yield session
                    if deadline is not None and not deadline.claim_commit():
                        raise DeadlinePassed(
                            f"the request's time limit ({deadline.seconds:g} s) passed before "
                            "its write committed; nothing was written"
                        )
            except DBAPIError as exc:
                raise translate(exc) from exc

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only (its transaction is rolled back at the end).

        On SQLite it neither waits for nor holds up the writer: a run's look-ahead reads
        the store while the page before is being written. Errors as for `session`.
        """
        with self._readers() as session:
            try:
                yield session
            except DBAPIError as exc:
                raise translate(exc) from exc
            finally:
                session.rollback()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def rolled_back(self) -> Iterator[RolledBackStore]:
        """This store as a `Store` whose every write is undone at the end (a dry run).

        Whatever runs against it commits as usual, and reads its own writes, but nothing it
        writes outlives the block: see `RolledBackStore`.
        """
        rehearsal = RolledBackStore(self)
        try:
            yield rehearsal
        finally:
            rehearsal.discard()

    def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see tables that grew fast (a backfill into an empty store).

        Autovacuum analyses on its own schedule (a minute apart by default); until then the
        planner takes the tables for empty and filters unique-value look-ups row by row
        instead of searching their index. SQLite needs nothing.
        """
        if self.dialect != "postgresql":
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "ANALYZE customers, custom_field_values, contracts, ingest_aliases"
            )

    # --- migrations ----------------------------------------------------------------------
    def _alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Connection failures as `StoreUnreachable` saying why (server down, no database)."""
        try:
            yield
        except OperationalError as exc:
            raise StoreUnreachable(
                f"cannot reach the store at {_safe_url(self.url)}: {_reason(exc, self.url)}"
            ) from exc

    def current_revision(self) -> str | None:
        with self._reaching(), self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        cfg = self._alembic_config()
        with self._reaching(), self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def ensure_migrated(self, *, auto: bool) -> None:
        """Upgrade (`auto`) or raise `StoreNotMigrated` when the schema is behind."""
        current = self.current_revision()
        if current == self.head_revision():
            return
        if auto:
            self.upgrade()
            return
        raise StoreNotMigrated(
            f"the store at {_safe_url(self.url)} is behind its migrations "
            f"(at {current or 'nothing'}); run `sfsync db upgrade`"
        )


class RolledBackStore(Store):
    """A store inside one outer transaction that is rolled back (SQLAlchemy's "joining a
    session into an external transaction" recipe).

    Its sessions are bound to one connection whose transaction is begun here; each
    `session()` (and `reader()`) runs in a SAVEPOINT of it, so a caller's commit is a
    savepoint release and its rollback a rollback to the savepoint: code written for the
    real store runs unchanged and sees its own earlier "commits", and `discard` undoes
    them all. SQLite's savepoints need the driver's own transaction handling off, which
    `make_engine` already does (`isolation_level = None`, BEGIN emitted by SQLAlchemy).

    One connection serves every session, so sessions from several threads (a run's
    look-ahead reads beside its page writes) take turns: each holds a lock while open.
    While it lives it holds what its writes lock — on SQLite the store's write lock, on
    PostgreSQL the rows it wrote (a stream's cursor row among them) — so a real run waits
    for it rather than interleaving. Sequences (PostgreSQL ids) are not rolled back.
    """

    def __init__(self, store: Store) -> None:
        self.url = store.url
        self.engine = store.engine
        self._connection: Connection = store.engine.connect()
        self._outer = self._connection.begin()
        self._lock = threading.RLock()
        self._sessions = sessionmaker(
            bind=self._connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        self._readers = self._sessions

    @contextmanager
    def session(self, deadline: Deadline | None = None) -> Iterator[Session]:
        # No request deadline here: a dry run is a command, and a deadline's session would
        # be bound to the engine, outside the transaction that is rolled back.
        del deadline
        with self._lock, super().session() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._lock, super().reader() as session:
            yield session

    def refresh_statistics(self) -> None:
        """Nothing: the rows are never committed, so the planner has nothing new to see."""

    def close(self) -> None:
        """Nothing: the engine belongs to the store this one rehearses on."""

    def discard(self) -> None:
        """Roll every write back and give the connection back to the pool."""
        with self._lock:
            try:
                if self._outer.is_active:
                    self._outer.rollback()
            finally:
                self._connection.close()


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def _reason(exc: DBAPIError, url: str) -> str:
    """The driver's own words, on one line, without the URL's password."""
    text = " ".join(str(exc.orig).split()) or type(exc.orig).__name__
    password = make_url(url).password
    if password:
        text = text.replace(str(password), "***")
    return text[:500]


def open_store(database_url: str, *, auto_migrate: bool | None = None) -> Store:
    """Open the store; SQLite migrates itself, others must be upgraded explicitly."""
    store = Store(database_url)
    auto = store.dialect == "sqlite" if auto_migrate is None else auto_migrate
    store.ensure_migrated(auto=auto)
    return store
