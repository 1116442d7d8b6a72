"""Sending usage to the workers: at most `MAX_EVENTS_PER_MESSAGE` events per message.

Usable from any producer process with an app from `celery_app.create_app` (it imports no
task module, so it neither builds the environment's app nor needs a store).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from celery import Celery

from sfsync.sync.usage import MAX_EVENTS_PER_MESSAGE
from sfsync.tasks.names import INGEST_USAGE

__all__ = ["send_usage"]


def send_usage(app: Celery, events: Iterable[Any]) -> list[str]:
    """Enqueue events for the ingest task, split into messages of at most 1,000.

    Returns the messages' task ids. Re-sending a message is safe (ingest is idempotent).
    """
    ids: list[str] = []
    iterator = iter(events)
    while chunk := list(islice(iterator, MAX_EVENTS_PER_MESSAGE)):
        ids.append(str(app.send_task(INGEST_USAGE, args=[chunk]).id))
    return ids
