"""A deadline for one unit of work: how long its statements may wait, and whether it may commit.

The HTTP server answers 503 when a request passes its time limit; the handler's thread may
still be working then. Both sides meet here, under one lock, so exactly one of them wins:
the thread claims the commit (`claim_commit`) and the server, seeing the claim, waits for
its answer; or the server abandons the request first (`abandon`) and the thread's commit
is refused, its transaction rolled back. A client answered 503 has written nothing.
"""

from __future__ import annotations

import enum
import threading
import time

__all__ = ["Deadline"]


class _Phase(enum.Enum):
    WORKING = "working"
    COMMITTING = "committing"
    ABANDONED = "abandoned"


class Deadline:
    """A monotonic instant, and who won the race between committing and giving up."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.seconds = seconds
        self._phase = _Phase.WORKING
        self._lock = threading.Lock()

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def claim_commit(self) -> bool:
        """Take the right to commit; False once the deadline has passed or was abandoned."""
        with self._lock:
            if self._phase is _Phase.ABANDONED or time.monotonic() >= self.at:
                self._phase = _Phase.ABANDONED
                return False
            self._phase = _Phase.COMMITTING
            return True

    def abandon(self) -> bool:
        """Give up on the work; False when a commit is already under way (wait for it)."""
        with self._lock:
            if self._phase is _Phase.COMMITTING:
                return False
            self._phase = _Phase.ABANDONED
            return True
