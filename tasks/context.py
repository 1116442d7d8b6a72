"""Per-process resources of a worker: settings, the store, the Salesforce client.

Built lazily in the process that uses them (never inherited across a fork), once each.
The settings come from the Celery app (`app.sfsync_settings`, never `app.conf`, which
`celery inspect conf` prints) unless `configure` was given others.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import (
    beat_init,
    celeryd_init,
    setup_logging,
    worker_init,
    worker_process_init,
)

from sfsync.celery_app import app
from sfsync.config import ConfigError, RedactSecretsFilter, Settings, configure_logging
from sfsync.models import Store, open_store
from sfsync.sync.salesforce import SalesforceClient, choose_mode

__all__ = [
    "SALESFORCE_QUEUES",
    "configure",
    "redact",
    "reset",
    "salesforce",
    "salesforce_problem",
    "settings",
    "store",
]

log = logging.getLogger(__name__)

#: Queues whose tasks call Salesforce (polls, provisioning, signups, replays of deals).
SALESFORCE_QUEUES = frozenset({"sync", "default"})

_settings: Settings | None = None
_store: Store | None = None
_client: SalesforceClient | None = None
_redactor: RedactSecretsFilter | None = None


def configure(value: Settings) -> None:
    """Use these settings (the CLI's, for in-process replays) instead of the app's."""
    global _settings  # noqa: PLW0603
    reset()
    _settings = value


def settings() -> Settings:
    value = _settings or getattr(app, "sfsync_settings", None)
    assert isinstance(value, Settings)
    return value


def redact(text: str) -> str:
    global _redactor  # noqa: PLW0603 - one per process by design
    if _redactor is None:
        _redactor = RedactSecretsFilter(settings().secret_values())
    return _redactor.redact(text)


def store() -> Store:
    global _store  # noqa: PLW0603
    if _store is None:
        current = settings()
        if not current.database_url:
            current.ensure_data_dir()
        _store = open_store(current.store_url)
    return _store


def salesforce() -> SalesforceClient:
    global _client  # noqa: PLW0603
    if _client is None:
        _client = SalesforceClient(settings())
    return _client


def reset() -> None:
    """Forget resources (after a fork, or in tests), the redactor of the old secrets too."""
    global _store, _client, _redactor
    _store, _client, _redactor = None, None, None


def salesforce_problem(current: Settings) -> str | None:
    """Why these settings cannot log in to Salesforce, or None when the set is complete."""
    try:
        choose_mode(current)
    except ConfigError as exc:
        return str(exc)
    return None


def _warn_incomplete(role: str, queues: set[str] | None = None) -> None:
    problem = salesforce_problem(settings())
    if problem is None or (queues is not None and not queues & SALESFORCE_QUEUES):
        return
    log.warning(
        "%s started without a complete set of Salesforce settings (%s); every poll is "
        "recorded as a failed run until they are set",
        role,
        problem,
    )


# Start-up warnings: the main processes log through our handler (see `_on_setup_logging`).
@worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    consumer_queues = getattr(getattr(sender, "app", app).amqp.queues, "consume_from", None)
    _warn_incomplete("worker", set(consumer_queues or ()))


@beat_init.connect
def _on_beat_init(**_: Any) -> None:
    _warn_incomplete("beat")


_celery_level: int | str | None = None


def _configure_logging(celery_level: int | str | None = None) -> None:
    """SFSYNC_LOG_LEVEL, or the worker's `--loglevel` where that one says more."""
    global _celery_level  # noqa: PLW0603 - inherited by the pool's forked processes
    celery_level = celery_level or _celery_level
    _celery_level = celery_level
    s = settings()
    level = logging.getLevelName(s.log_level)
    if celery_level:
        asked = (
            celery_level
            if isinstance(celery_level, int)
            else logging.getLevelName(str(celery_level).upper())
        )
        if isinstance(asked, int):
            level = min(level, asked)
    configure_logging(logging.getLevelName(level), s.secret_values(), s.log_format)


@celeryd_init.connect
def _on_celeryd_init(options: dict[str, Any] | None = None, **_: Any) -> None:
    # Early enough for the worker's start-up warnings to be formatted like everything else.
    _configure_logging((options or {}).get("loglevel"))


@setup_logging.connect
def _on_setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    # Connected, this signal makes Celery leave logging to us: its own root handler next to
    # ours printed every record, and every traceback, twice (and before redaction).
    _configure_logging(loglevel)


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    reset()
    _configure_logging()
