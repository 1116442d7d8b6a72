"""Usage tasks: store events first, then attribute them through ingest aliases."""

from __future__ import annotations

import logging
from typing import Any

from sfsync.celery_app import app
from sfsync.models.usage.events import resolve_pending
from sfsync.sync.usage import MAX_EVENTS_PER_MESSAGE, UsageRules, ingest
from sfsync.tasks import context
from sfsync.tasks.base import SfsyncTask
from sfsync.tasks.names import INGEST_USAGE, RESOLVE_PENDING

__all__ = ["ingest_task", "resolve_pending_task"]

log = logging.getLogger(__name__)


@app.task(base=SfsyncTask, bind=True, name=INGEST_USAGE)
def ingest_task(self: SfsyncTask, events: list[Any]) -> dict[str, int]:
    """Validate and store events, 1,000 per transaction; rejected ones become dead letters.

    Producers send at most 1,000 per message (`tasks.producer.send_usage`); a larger message
    that arrives anyway is processed in chunks of that size rather than refused whole.
    """
    if not isinstance(events, list):
        raise ValueError(f"{INGEST_USAGE} takes a list of events, got {type(events).__name__}")
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    rules = UsageRules.of(context.settings())
    for start in range(0, len(events), MAX_EVENTS_PER_MESSAGE):
        with context.store().session() as s:
            report = ingest(s, events[start : start + MAX_EVENTS_PER_MESSAGE], rules)
        for key, value in report.counts().items():
            totals[key] += value
    # A doorbell only: the beat sweep attributes whatever this message fails to, so a
    # broker that cannot take it (an inline replay with the broker down) fails nothing.
    try:
        resolve_pending_task.apply_async(expires=context.settings().usage_sweep_interval)
    except Exception as exc:
        log.warning("could not enqueue the pending-usage sweep: %s", context.redact(str(exc)))
    return totals


@app.task(base=SfsyncTask, bind=True, name=RESOLVE_PENDING)
def resolve_pending_task(self: SfsyncTask) -> dict[str, Any]:
    """Attribute stored events whose key is now a customer id or an attached alias."""
    with context.store().session() as s:
        attributed = resolve_pending(s)
    return {"attributed": attributed}
