"""The Celery app: broker, JSON-only messages, late acks, queues, routes, beat schedule.

`celery -A celery_app worker` / `celery -A celery_app beat`. Depends on `config` only;
tasks are named by module so this file imports none of them.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from celery import Celery
from kombu import Exchange, Queue

from config import ConfigError, Settings, load_settings

QUEUES = ("sync", "usage", "default")
ROUTES = {
    "sfsync.sync.*": {"queue": "sync"},
    "sfsync.signup.*": {"queue": "sync"},
    "sfsync.usage.*": {"queue": "usage"},
    "sfsync.deadletter.*": {"queue": "default"},
}


def create_app(settings: Settings) -> Celery:
    """A Celery app configured from `settings`."""
    app = Celery("sfsync", include=["tasks.sync", "tasks.usage", "tasks.signup", "tasks.replay"])
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule there
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
    interval = float(settings.poll_interval)
    sweep = float(settings.usage_sweep_interval)
    app.conf.update(
        broker_url=settings.celery_broker_url,
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
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
        beat_schedule={
            "poll-opportunities": {
                "task": "sfsync.sync.poll_opportunities",
                "schedule": timedelta(seconds=interval),
                "options": {"expires": interval},
            },
            "poll-accounts": {
                "task": "sfsync.sync.poll_accounts",
                "schedule": timedelta(seconds=interval),
                "options": {"expires": interval},
            },
            "resolve-pending-usage": {
                "task": "sfsync.usage.resolve_pending",
                "schedule": timedelta(seconds=sweep),
                "options": {"expires": sweep},
            },
        },
    )
    app.conf.sfsync_settings = settings
    return app


def _load() -> Settings:
    try:
        return load_settings()
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
            _app = create_app(_load())
        return _app
    raise AttributeError(name)
