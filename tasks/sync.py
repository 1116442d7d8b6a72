"""Salesforce sync tasks: one per registered stream (`sync.streams.registry`), and provisioning
one opportunity by id. Each opens the store and the client, runs the stream, reports a
summary."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from celery import Task

from sfsync.celery_app import app
from sfsync.config import ConfigError
from sfsync.models.types import DeadLetterSource, RunStatus, RunTrigger, Stream
from sfsync.sync.opportunities import provision_opportunities
from sfsync.sync.run_result import RunResult
from sfsync.sync.runner import RunOptions, not_connected
from sfsync.sync.salesforce import SalesforceAuthError
from sfsync.sync.streams.base import SyncStream
from sfsync.sync.streams.registry import STREAMS
from sfsync.tasks import context, names
from sfsync.tasks.base import SfsyncTask

__all__ = [
    "STREAM_TASKS",
    "ProvisionOpportunityTask",
    "provision_opportunity_task",
    "register_stream_task",
    "run_stream",
]

log = logging.getLogger(__name__)


def _options(trigger: str, full: bool, since: str | None) -> RunOptions:
    """A task's JSON arguments as the streams' run options."""
    return {
        "trigger": RunTrigger(trigger),
        "full": full,
        "since": datetime.fromisoformat(since) if since else None,
    }


def run_stream(stream: type[SyncStream], options: RunOptions) -> dict[str, Any]:
    """One run of `stream`, as its task's summary. One that cannot log in is a failed run
    saying why, not a task failure (a dead letter per beat tick would bury the one thing to
    fix: the settings)."""
    trigger = options.get("trigger", RunTrigger.BEAT)
    name = Stream(stream.name)
    try:
        client = context.salesforce()
    except ConfigError as exc:
        return not_connected(context.store(), name, trigger, context.redact(str(exc))).summary()
    run = stream(context.store(), client, context.settings())
    try:
        result = run.run(**options)
    except SalesforceAuthError as exc:
        # The runner has recorded the failed run with the reason already.
        log.warning("%s poll cannot log in to Salesforce: %s", name, context.redact(str(exc)))
        result = RunResult(0, name, RunStatus.FAILED, error=context.redact(str(exc)))
    if result.status is RunStatus.FAILED:
        return result.summary()
    return {**result.summary(), **run.after_run()}


def register_stream_task(stream: type[SyncStream]) -> Task:
    """The task that runs `stream`, registered under its name from `tasks.names`."""

    @app.task(base=SfsyncTask, bind=True, name=getattr(names, stream.task))
    def stream_task(
        self: SfsyncTask, trigger: str = "beat", full: bool = False, since: str | None = None
    ) -> dict[str, Any]:
        """Run the stream once (skipped if another run holds its lease)."""
        return run_stream(stream, _options(trigger, full, since))

    return stream_task


#: Stream name → the task that runs it.
STREAM_TASKS: dict[str, Task] = {stream.name: register_stream_task(stream) for stream in STREAMS}


class ProvisionOpportunityTask(SfsyncTask):
    abstract = True
    dead_letter_source = DeadLetterSource.OPPORTUNITY

    def dead_letter_reference(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value = args[0] if args else kwargs.get("opportunity_id")
        return str(value) if value else None


@app.task(base=ProvisionOpportunityTask, bind=True, name=names.PROVISION_OPPORTUNITY)
def provision_opportunity_task(self: SfsyncTask, opportunity_id: str) -> dict[str, Any]:
    """Fetch one opportunity by id and provision it now."""
    counters = provision_opportunities(
        context.store(), context.salesforce(), context.settings(), [opportunity_id]
    )
    return asdict(counters)
