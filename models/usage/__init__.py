"""Usage events: the durable set-based insert (`insert`), look-ups and the attribution sweep
(`events`), summaries (`summary`) and the ingest tallies (`tally`).

This package's `__all__` is its surface.
"""

from sfsync.models.usage.events import (
    NewEvent,
    PendingKey,
    StoredEvent,
    count_pending_keys,
    differences,
    get_event,
    pending_keys,
    resolve_pending,
    stored_events,
)
from sfsync.models.usage.insert import insert_events
from sfsync.models.usage.summary import (
    MAX_PROPERTY_NAME,
    GroupBy,
    SummaryRow,
    property_name,
    summarize,
)
from sfsync.models.usage.tally import duplicates_total, record_tally

__all__ = [
    "MAX_PROPERTY_NAME",
    "GroupBy",
    "NewEvent",
    "PendingKey",
    "StoredEvent",
    "SummaryRow",
    "count_pending_keys",
    "differences",
    "duplicates_total",
    "get_event",
    "insert_events",
    "pending_keys",
    "property_name",
    "record_tally",
    "resolve_pending",
    "stored_events",
    "summarize",
]
