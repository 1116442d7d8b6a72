"""Salesforce sync tasks: open the store and the client, call `sync/`, report a summary."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sfsync.celery_app import app
from sfsync.config import ConfigError
from sfsync.models.types import DeadLetterSource, RunStatus, RunTrigger, Stream
from sfsync.sync.accounts import poll_accounts
from sfsync.sync.opportunities import poll_opportunities, provision_opportunities
from sfsync.sync.reconcile import reconcile
from sfsync.sync.runner import RunOptions, RunResult, not_connected
from sfsync.sync.salesforce import SalesforceAuthError
from sfsync.sync.writeback import flush_writebacks
from sfsync.tasks import context, names
from sfsync.tasks.base import SfsyncTask

__all__ = [
    "Poll",
    "ProvisionOpportunityTask",
    "poll_accounts_task",
    "poll_opportunities_task",
    "provision_opportunity_task",
    "reconcile_task",
]

log = logging.getLogger(__name__)
Poll = Callable[..., RunResult]


def _options(trigger: str, full: bool, since: str | None) -> RunOptions:
    """A task's JSON arguments as the streams' run options."""
    return {
        "trigger": RunTrigger(trigger),
        "full": full,
        "since": datetime.fromisoformat(since) if since else None,
    }


def _poll(poll: Poll, stream: Stream, options: RunOptions) -> RunResult:
    """One poll; one that cannot log in is a failed run saying why, not a task failure (a
    dead letter per beat tick would bury the one thing to fix: the settings)."""
    trigger = options.get("trigger", RunTrigger.BEAT)
    try:
        client = context.salesforce()
    except ConfigError as exc:
        return not_connected(context.store(), stream, trigger, context.redact(str(exc)))
    try:
        return poll(context.store(), client, context.settings(), **options)
    except SalesforceAuthError as exc:
        # The runner has recorded the failed run with the reason already.
        log.warning("%s poll cannot log in to Salesforce: %s", stream, context.redact(str(exc)))
        return RunResult(0, stream, RunStatus.FAILED, error=context.redact(str(exc)))


@app.task(base=SfsyncTask, bind=True, name=names.POLL_OPPORTUNITIES)
def poll_opportunities_task(
    self: SfsyncTask, trigger: str = "beat", full: bool = False, since: str | None = None
) -> dict[str, Any]:
    """Poll closed-won opportunities once (skipped if another run holds the lease)."""
    result = _poll(poll_opportunities, Stream.OPPORTUNITIES, _options(trigger, full, since))
    if result.status is RunStatus.FAILED:
        return result.summary()
    drained = flush_writebacks(context.store(), context.salesforce(), context.settings())
    return {**result.summary(), "writebacks_written": drained.written}


@app.task(base=SfsyncTask, bind=True, name=names.POLL_ACCOUNTS)
def poll_accounts_task(
    self: SfsyncTask, trigger: str = "beat", full: bool = False, since: str | None = None
) -> dict[str, Any]:
    """Poll changed accounts once: names and aliases of provisioned customers stay current."""
    return _poll(poll_accounts, Stream.ACCOUNTS, _options(trigger, full, since)).summary()


@app.task(base=SfsyncTask, bind=True, name=names.RECONCILE)
def reconcile_task(self: SfsyncTask, trigger: str = "beat") -> dict[str, Any]:
    """Compare the org's won deals with the store once (skipped if another run holds it)."""
    result = reconcile(
        context.store(), context.salesforce(), context.settings(), trigger=RunTrigger(trigger)
    )
    return result.summary()


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
