"""Whether anyone will do the work a producer enqueues: the workers consuming each queue.

One question, asked the same way by `sfsync sync run`, `sfsync dlq retry`, the console's
replays and `sfsync check`: Celery's ``inspect active_queues`` broadcast, answered by every
live worker within a short timeout (it works on Redis and on the embedded filesystem broker
alike). A message enqueued with nobody consuming its queue is not lost, it waits; the
producer says so in one line instead of suggesting the work is under way.

Errors::

    celery_app.BrokerUnreachable   the broadcast could not be sent (names SFSYNC_BROKER_URL)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from celery import Celery
from kombu.exceptions import KombuError

from sfsync.celery_app import QUEUES, ROUTES, BrokerUnreachable

__all__ = [
    "WORKER_REPLY_TIMEOUT",
    "QueueConsumers",
    "idle_queue_warning",
    "no_worker_line",
    "queue_consumers",
    "queue_of",
]

#: Seconds to wait for workers' replies: long enough for a busy worker's control thread,
#: short enough that a command does not feel stuck.
WORKER_REPLY_TIMEOUT = 1.0


@dataclass(frozen=True)
class QueueConsumers:
    """Which workers consume which queue, as they answered the broadcast."""

    workers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def of(self, queue: str) -> tuple[str, ...]:
        """The workers consuming `queue` (empty: nobody)."""
        return self.workers.get(queue, ())

    def idle(self, queues: tuple[str, ...] = QUEUES) -> list[str]:
        """The queues among `queues` that no worker consumes."""
        return [queue for queue in queues if not self.of(queue)]


def queue_of(task_name: str) -> str:
    """The queue `celery_app.ROUTES` sends a task to (``default`` when no route matches)."""
    for pattern, route in ROUTES.items():
        if fnmatchcase(task_name, pattern):
            return str(route["queue"])
    return "default"


def queue_consumers(app: Celery, timeout: float = WORKER_REPLY_TIMEOUT) -> QueueConsumers:
    """Ask every worker which queues it consumes; `BrokerUnreachable` if the broker does not
    take the broadcast."""
    try:
        replies: Any = app.control.inspect(timeout=timeout).active_queues()
    except (KombuError, OSError) as exc:
        settings = getattr(app, "sfsync_settings", None)
        where = settings.public_broker_url if settings is not None else "the broker"
        raise BrokerUnreachable(
            f"SFSYNC_BROKER_URL: cannot ask the workers at {where}: {type(exc).__name__}"
        ) from exc
    consumers: dict[str, list[str]] = {}
    for worker, queues in (replies or {}).items():
        for queue in queues or ():
            name = queue.get("name") if isinstance(queue, Mapping) else None
            if isinstance(name, str):
                consumers.setdefault(name, []).append(str(worker))
    return QueueConsumers({queue: tuple(sorted(names)) for queue, names in consumers.items()})


def idle_queue_warning(app: Celery, task_name: str) -> str | None:
    """One line if no worker consumes the queue of `task_name` (None when one does): the
    message waits there until a worker starts."""
    queue = queue_of(task_name)
    try:
        consumers = queue_consumers(app)
    except BrokerUnreachable as exc:
        return f"could not ask the workers whether one consumes `{queue}`: {exc}"
    if consumers.of(queue):
        return None
    return no_worker_line(queue)


def no_worker_line(queue: str) -> str:
    """The one line that says enqueued work waits for a worker."""
    return (
        f"no worker is consuming `{queue}`: tasks sent there wait until one starts "
        f"(celery -A sfsync.celery_app worker -Q {','.join(QUEUES)})"
    )
