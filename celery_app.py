"""The Celery app: broker, JSON-only messages, late acks, queues, routes, beat schedule.

`celery -A celery_app worker` / `celery -A celery_app beat`. Depends on `config`,
`tasks.names` and the stream registry (`sync.streams.registry`, whose streams beat runs):
the task modules are named by module in `include` and the tasks by the names module, so
this file imports none of them (the `tasks` package imports nothing).

Nothing secret lives in `app.conf`: `celery report`, `celery inspect conf` and Flower print
it (the last two without Celery's masking). The `Settings` hang off the app object
(`app.sfsync_settings`), and `app.conf.broker_url` carries the URL with its password
masked; the real one is handed to kombu only when a connection is made.

Errors::

    BrokerUnreachable      `check_broker` could not connect (names SFSYNC_BROKER_URL and why)
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

from sfsync.config import ConfigError, Settings, load_settings
from sfsync.sync.streams.registry import STREAMS
from sfsync.tasks import names

QUEUES = ("sync", "usage", "default")
ROUTES = {
    f"{names.SYNC}.*": {"queue": "sync"},
    f"{names.SIGNUP}.*": {"queue": "sync"},
    f"{names.USAGE}.*": {"queue": "usage"},
    f"{names.DEADLETTER}.*": {"queue": "default"},
}


#: Seconds a producer (the CLI) waits for the broker before saying it cannot reach it.
PRODUCER_CONNECT_TIMEOUT = 3.0


class BrokerUnreachable(Exception):
    """The broker did not answer; the message names the setting and the reason."""


class SfsyncCelery(Celery):  # type: ignore[misc]
    """A Celery app whose settings and broker password stay out of `conf`."""

    sfsync_settings: Settings | None = None

    def _connection(self, url: str | None, *args: Any, **kwargs: Any) -> Connection:
        settings = self.sfsync_settings
        if settings is not None and (url is None or url == settings.public_broker_url):
            url = settings.celery_broker_url
        return super()._connection(url, *args, **kwargs)


def beat_streams(settings: Settings) -> dict[str, dict[str, Any]]:
    """Beat's entry for each registered stream: its task, every its cadence's interval."""
    entries = {}
    for stream in STREAMS:
        every = stream.cadence.seconds(settings)
        entries[stream.beat_entry()] = {
            "task": getattr(names, stream.task),
            "schedule": timedelta(seconds=every),
            "options": {"expires": every},
        }
    return entries


def create_app(settings: Settings) -> Celery:
    """A Celery app configured from `settings`."""
    app = SfsyncCelery(
        "sfsync",
        include=[f"sfsync.tasks.{name}" for name in ("sync", "usage", "signup", "replay")],
    )
    settings.ensure_data_dir()  # beat keeps its schedule there
    transport_options: dict[str, object] = {
        "visibility_timeout": settings.broker_visibility_timeout,
    }
    if settings.celery_broker_url.startswith("filesystem://"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            # Without it the transport writes its exchange table to ./control.
            control_folder=str(folder / "control"),
            store_processed=False,
        )
    sweep = float(settings.usage_sweep_interval)
    app.conf.update(
        broker_url=settings.public_broker_url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        # JSON only: a pickled message is refused, so a broker cannot carry code.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_ignore_result=True,
        # Task events on, so Flower and `celery events` see tasks queued, started, finished.
        worker_send_task_events=True,
        task_send_sent_event=True,
        # The store is the source of truth; these keep a task whose worker died on the broker.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # One exchange and routing key per queue, so a message can only ever reach its queue.
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
        ],
        task_default_queue="default",
        task_routes=ROUTES,
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(settings.beat_schedule_file),
        beat_schedule={
            **beat_streams(settings),
            "resolve-pending-usage": {
                "task": names.RESOLVE_PENDING,
                "schedule": timedelta(seconds=sweep),
                "options": {"expires": sweep},
            },
        },
    )
    app.sfsync_settings = settings
    return app


def check_broker(app: Celery) -> None:
    """Connect once with a short timeout, or raise `BrokerUnreachable` (never kombu's retry
    loop): a command that enqueues says at once that nobody will receive its message."""
    settings = app.sfsync_settings
    assert isinstance(settings, Settings)
    try:
        with app.connection_for_write(connect_timeout=PRODUCER_CONNECT_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=0, timeout=PRODUCER_CONNECT_TIMEOUT)
    except (OperationalError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        for secret in settings.secret_values():
            reason = reason.replace(secret, "***")
        raise BrokerUnreachable(
            f"SFSYNC_BROKER_URL: cannot reach the broker at {settings.public_broker_url}: {reason}"
        ) from None


def _load() -> Celery:
    try:
        return create_app(load_settings())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


_app: Celery | None = None


def use_settings(settings: Settings) -> Celery:
    """Build the module's app from these settings (the CLI's), before any task is imported."""
    global _app  # noqa: PLW0603
    _app = create_app(settings)
    return _app


def __getattr__(name: str) -> Celery:
    # `celery -A celery_app` and the tasks read `app`; building it lazily lets the CLI
    # import `create_app` with its own settings without loading the environment's twice.
    global _app  # noqa: PLW0603
    if name == "app":
        if _app is None:
            _app = _load()
        return _app
    raise AttributeError(name)
