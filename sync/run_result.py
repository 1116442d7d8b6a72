"""What one run of a stream reports: its record's id, status, counters and cursor."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sfsync.models.operations.runs import RunCounters
from sfsync.models.types import RunStatus, Stream

__all__ = ["RunResult"]


def _shown(cursor: object) -> Any:
    return cursor.isoformat() if isinstance(cursor, datetime) else cursor


@dataclass
class RunResult:
    """The outcome of one run; its cursors are typed by the stream (None: none yet)."""

    run_id: int
    stream: Stream
    status: RunStatus
    counters: RunCounters = field(default_factory=RunCounters)
    cursor_before: Any = None
    cursor_after: Any = None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """The result as JSON values: what a task returns and `sfsync sync run --json` prints."""
        return {
            "run_id": self.run_id,
            "stream": self.stream.value,
            "status": self.status.value,
            "error": self.error,
            **asdict(self.counters),
            "cursor_before": _shown(self.cursor_before),
            "cursor_after": _shown(self.cursor_after),
        }
