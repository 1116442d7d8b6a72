"""What every command shares: settings and store built once, JSON output, error exits.

Exit codes: 0 success; 1 an expected error (not found, conflict, invalid input, a failed
operation); 2 a usage or configuration error (including a store behind its migrations, a
store or broker that cannot be reached).

Errors::

    OperationFailed    an expected failure of a command, exit 1 (the message says what to do)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy.orm import Session

from sfsync import celery_app
from sfsync.commands.output import safe_text, stream_json_array
from sfsync.config import ConfigError, Settings, configure_logging, load_settings
from sfsync.config.data_folder import data_folder, new_store_notice
from sfsync.config.settings import default_data_dir
from sfsync.models import Store, StoreError, StoreNotMigrated, StoreUnreachable, open_store
from sfsync.tasks.workers import idle_queue_warning

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "App",
    "OperationFailed",
    "command_errors",
    "console",
    "data_folder_line",
    "emit_json",
    "emit_json_array",
    "err_console",
    "fail",
    "json_option",
    "parse_decimal",
    "parse_instant",
    "parse_pairs",
    "parse_uuid",
    "pass_app",
    "producer",
    "records_progress",
    "warn_if_no_worker",
]

console = Console()
err_console = Console(stderr=True)


@dataclass
class App:
    """Per-invocation state: settings and store are built once, on first use."""

    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _store: Store | None = None
    #: The command creates a store on purpose (`demo`, `check`): no notice that it does.
    new_store_expected: bool = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
            configure_logging(
                self._settings.log_level,
                self._settings.secret_values(),
                self._settings.log_format,
            )
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            if not self.settings.database_url:
                self.settings.ensure_data_dir()  # the default store's folder is sfsync's own
            notice = None if self.new_store_expected else new_store_notice(self.settings)
            if notice is not None:
                # Said, not silently done: from the wrong folder or with a typo in the
                # setting, an empty store would answer "no customers".
                err_console.print(
                    Text.assemble(("note:", "bold yellow"), " ", safe_text(notice)),
                    highlight=False,
                    soft_wrap=True,
                )
            self._store = open_store(self.settings.store_url)
        return self._store

    @property
    def store_setting(self) -> str:
        """The setting that chose the store, for errors about it."""
        if self.overrides.get("database_url") is not None:
            return "--database-url"
        if self._settings is not None and self._settings.database_url:
            return "SFSYNC_DATABASE_URL"
        return "SFSYNC_DATA_DIR"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.store.session() as session:
            yield session

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(App, ensure=True)


@contextmanager
def command_errors(ctx: click.Context) -> Iterator[None]:
    """Turn the project's expected errors into one line on stderr and an exit code."""
    try:
        yield
    except (ConfigError, StoreNotMigrated) as exc:
        fail(str(exc), code=2)
    except StoreUnreachable as exc:
        app = ctx.find_object(App)
        fail(f"{app.store_setting if app else 'SFSYNC_DATABASE_URL'}: {exc}", code=2)
    except (StoreError, OperationFailed) as exc:
        fail(str(exc), code=1)
    finally:
        app = ctx.find_object(App)
        if app is not None:
            app.close()


def data_folder_line() -> str:
    """Where sfsync keeps its state with the current environment (a bad setting: the default)."""
    try:
        folder = data_folder(load_settings())
    except ConfigError:
        folder = None
    line = folder.line() if folder is not None else f"data folder: {default_data_dir()}"
    return f"{line}. Change it with SFSYNC_DATA_DIR or --data-dir."


class OperationFailed(Exception):
    """An expected failure of a command (the message says what to do)."""


def fail(message: str, *, code: int = 1) -> None:
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", safe_text(message)),
        highlight=False,
        soft_wrap=True,
    )
    raise SystemExit(code)


def producer(app: App) -> Celery:
    """The Celery app to enqueue with, once the broker answered (one line and exit 2 if not).

    Tasks imported from here on bind to it, so an in-process replay uses these settings.
    """
    celery = celery_app.use_settings(app.settings)
    try:
        celery_app.check_broker(celery)
    except celery_app.BrokerUnreachable as exc:
        fail(str(exc), code=2)
    return celery


def records_progress(label: str, *, disable: bool) -> Progress:
    """A transient bar on stderr counting the records a Salesforce read has seen (`sync run
    --inline`, `--dry-run`)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable,
        transient=True,
    )


def warn_if_no_worker(celery: Celery, task_name: str) -> None:
    """One line on stderr when no worker consumes the queue `task_name` went to: the message
    waits there, and saying nothing would suggest the work is under way."""
    idle = idle_queue_warning(celery, task_name)
    if idle is not None:
        err_console.print(Text.assemble(("warning:", "bold yellow"), " ", idle), soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # never an exponent: 20630, not 2.063E+4
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__}")


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    click.echo(json.dumps(document, default=_default, indent=2, sort_keys=False))


def emit_json_array(items: Iterator[Any]) -> None:
    """One JSON array on stdout, written row by row (memory stays flat)."""
    stream_json_array(items, _default)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def parse_pairs(pairs: tuple[str, ...], what: str = "--field") -> dict[str, str]:
    """KEY=VALUE pairs into a dict (a usage error if one has no '=')."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=what)
        out[key] = value
    return out


def parse_uuid(value: str, what: str = "ID") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"not a valid id: {value!r}", param_hint=what) from None


def parse_instant(value: str, what: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or datetime (UTC if no offset is given)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO 8601 date or datetime, got {value!r}", param_hint=what
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_decimal(value: str, what: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"not a number: {value!r}", param_hint=what) from None
    if not amount.is_finite():
        raise click.BadParameter(f"not a finite number: {value!r}", param_hint=what)
    return amount
