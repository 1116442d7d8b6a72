"""The org's clock: real time plus an adjustable offset, or a frozen instant."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Aware-UTC clock that tests can move without sleeping.

    It keeps ticking with real time after `set` or `advance`, so ordering of writes made
    in quick succession still follows the order they happened in.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        """Current org time (aware, UTC)."""
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def set(self, when: datetime) -> None:
        """Jump to `when` (naive values are taken as UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            self._offset = when - datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Move forward (or backward, if negative) by `seconds`."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
