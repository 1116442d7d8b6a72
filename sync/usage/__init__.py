"""Usage ingestion: events from any front door validated, stored, or dead-lettered.

- `validation`: pure checks over one raw event, a reason for every rejection;
- `reader`: JSON Lines or one JSON array read from bytes, streamed and memory bounded; the
  CLI's `usage ingest` reads with it;
- `stream`: `ingest_stream`, a long stream in transactions sized by events and time (the
  CLI's `usage ingest`);
- `ingestion`: `ingest`, the one code path every producer takes (in-process callers, the
  Celery task, the CLI, the HTTP API) into the store's transaction;
- `errors`: the one tree of what usage ingestion refuses (`UsageError` and below).

The rest of the project uses what this module exports; the submodules' other names are
theirs (tests reach them directly).
"""

from sfsync.sync.usage.errors import InvalidUsageEvent, UnreadableInput, UsageError
from sfsync.sync.usage.ingestion import (
    BATCH_SIZE,
    MAX_EVENTS_PER_MESSAGE,
    EventOutcome,
    EventResult,
    IngestReport,
    ingest,
)
from sfsync.sync.usage.reader import read_events
from sfsync.sync.usage.rules import Limits, UsageRules
from sfsync.sync.usage.stream import CHUNK_EVENTS, CHUNK_SECONDS, StreamTotals, ingest_stream
from sfsync.sync.usage.validation import validate_event

__all__ = [
    "BATCH_SIZE",
    "CHUNK_EVENTS",
    "CHUNK_SECONDS",
    "MAX_EVENTS_PER_MESSAGE",
    "EventOutcome",
    "EventResult",
    "IngestReport",
    "InvalidUsageEvent",
    "Limits",
    "StreamTotals",
    "UnreadableInput",
    "UsageError",
    "UsageRules",
    "ingest",
    "ingest_stream",
    "read_events",
    "validate_event",
]
