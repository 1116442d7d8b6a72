"""Usage tasks: store events first, then attribute them through ingest aliases."""

from __future__ import annotations

from typing import Any

from celery_app import app
from models.usage import resolve_pending
from sync.usage import ingest
from tasks import context
from tasks.base import SfsyncTask

MAX_EVENTS_PER_MESSAGE = 1000


@app.task(base=SfsyncTask, bind=True, name="sfsync.usage.ingest")
def ingest_task(self: SfsyncTask, events: list[Any]) -> dict[str, int]:
    """Validate and store up to 1,000 events; rejected ones become dead letters."""
    if not isinstance(events, list) or len(events) > MAX_EVENTS_PER_MESSAGE:
        raise ValueError(
            f"sfsync.usage.ingest takes a list of at most {MAX_EVENTS_PER_MESSAGE} events"
        )
    with context.store().session() as s:
        report = ingest(s, events, context.settings())
    # A doorbell only: the beat sweep attributes whatever this message fails to.
    resolve_pending_task.apply_async(expires=context.settings().usage_sweep_interval)
    return report.counts()


@app.task(base=SfsyncTask, bind=True, name="sfsync.usage.resolve_pending")
def resolve_pending_task(self: SfsyncTask) -> dict[str, Any]:
    """Attribute stored events whose key is now a customer id or an attached alias."""
    with context.store().session() as s:
        attributed = resolve_pending(s)
    return {"attributed": attributed}
