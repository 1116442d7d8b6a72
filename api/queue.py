"""Enqueuing by task name: the API rings the workers' doorbells and never runs a task itself.

Broker errors are translated here into `EnqueueFailed` (one place, ``raise ... from exc``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kombu.exceptions import KombuError

from sfsync.celery_app import create_app
from sfsync.config import Settings
from sfsync.tasks.names import PROVISION_OPPORTUNITY, REPLAY_LETTER, RESOLVE_PENDING
from sfsync.tasks.workers import idle_queue_warning

__all__ = ["EnqueueFailed", "Enqueuer"]

log = logging.getLogger(__name__)

# A caller is waiting: fail within a few seconds rather than kombu's patient default.
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}
#: At most one attribution doorbell per this many seconds (the beat sweep is the safety net).
_DOORBELL_EVERY = 1.0


class EnqueueFailed(Exception):
    """The broker did not take the message (it is not queued)."""


#: Said instead of the parser's words, which quote the URL (and so part of its password).
_UNPARSABLE = (
    "the broker URL (SFSYNC_BROKER_URL) cannot be parsed: percent-encode reserved characters "
    "in its user and password (a '/' as %2F, '@' as %40, ':' as %3A)"
)


class Enqueuer:
    """Sends tasks by name through a Celery app built from the settings on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._celery: Any = None
        self._lock = threading.Lock()
        self._last_doorbell = 0.0

    @property
    def celery(self) -> Any:
        with self._lock:
            if self._celery is None:
                self._celery = create_app(self._settings)
            return self._celery

    def _send(self, name: str, args: list[Any], **options: Any) -> None:
        try:
            self.celery.send_task(
                name, args=args, retry=True, retry_policy=_RETRY_POLICY, **options
            )
        except (KombuError, OSError) as exc:
            raise EnqueueFailed(f"the broker did not take {name}: {type(exc).__name__}") from exc
        except ValueError:
            raise EnqueueFailed(f"the broker did not take {name}: {_UNPARSABLE}") from None

    def provision_opportunity(self, opportunity_id: str) -> None:
        self._send(PROVISION_OPPORTUNITY, [opportunity_id])

    def replay_letter(self, letter_id: int, actor: str | None = None) -> None:
        """What `sfsync dlq retry ID` does: a worker replays the letter (`sync.replay`),
        recording `actor` on it."""
        self._send(REPLAY_LETTER, [letter_id], kwargs={"actor": actor} if actor else {})

    def idle_replay_queue(self) -> str | None:
        """One line when no worker consumes the replays' queue (None when one does)."""
        return idle_queue_warning(self.celery, REPLAY_LETTER)

    def ring_resolve(self) -> None:
        """Ask a worker to attribute pending usage soon; a failure only costs latency."""
        now = time.monotonic()
        if now - self._last_doorbell < _DOORBELL_EVERY:
            return
        self._last_doorbell = now
        try:
            self._send(RESOLVE_PENDING, [], expires=self._settings.usage_sweep_interval)
        except EnqueueFailed as exc:
            log.warning("%s; the beat sweep will attribute the usage", exc)

    def ping(self, timeout: float = 2.0) -> None:
        """Reach the broker, or raise `EnqueueFailed`."""
        try:
            with self.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
        except (KombuError, OSError) as exc:
            raise EnqueueFailed(f"broker unreachable: {type(exc).__name__}") from exc
        except ValueError:
            # `from None`: the parser's message, chained, would reach the log with the password.
            raise EnqueueFailed(f"broker unreachable: {_UNPARSABLE}") from None
