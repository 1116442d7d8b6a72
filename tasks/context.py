"""Per-process resources of a worker: settings, the store, the Salesforce client.

Built lazily in the process that uses them (never inherited across a fork), once each.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from celery_app import app
from config import RedactSecretsFilter, Settings, configure_logging
from models import Store, open_store
from sync.salesforce import SalesforceClient

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
    value = _settings or app.conf.sfsync_settings
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
        _store = open_store(settings().store_url)
    return _store


def salesforce() -> SalesforceClient:
    global _client  # noqa: PLW0603
    if _client is None:
        _client = SalesforceClient(settings())
    return _client


def reset() -> None:
    """Forget resources (after a fork, or in tests)."""
    global _store, _client
    _store, _client = None, None


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    reset()
    s = settings()
    configure_logging(s.log_level, s.secret_values())
