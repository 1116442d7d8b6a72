"""Salesforce sync tasks: open the store and the client, call `sync/`, report a summary."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from celery_app import app
from models.types import DeadLetterSource, RunTrigger
from sync.accounts import poll_accounts
from sync.opportunities import poll_opportunities, provision_opportunities
from sync.reconcile import reconcile
from sync.runner import RunOptions, RunResult
from sync.writeback import flush_writebacks
from tasks import context
from tasks.base import SfsyncTask


def summary(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "stream": result.stream.value,
        "status": result.status.value,
        "error": result.error,
        **asdict(result.counters),
        "cursor_before": result.cursor_before.isoformat() if result.cursor_before else None,
        "cursor_after": result.cursor_after.isoformat() if result.cursor_after else None,
    }


def _options(trigger: str, full: bool, since: str | None) -> RunOptions:
    """A task's JSON arguments as the streams' run options."""
    return {
        "trigger": RunTrigger(trigger),
        "full": full,
        "since": datetime.fromisoformat(since) if since else None,
    }


@app.task(base=SfsyncTask, bind=True, name="sfsync.sync.poll_opportunities")
def poll_opportunities_task(
    self: SfsyncTask, trigger: str = "beat", full: bool = False, since: str | None = None
) -> dict[str, Any]:
    """Poll closed-won opportunities once (skipped if another run holds the lease)."""
    result = poll_opportunities(
        context.store(), context.salesforce(), context.settings(), **_options(trigger, full, since)
    )
    drained = flush_writebacks(context.store(), context.salesforce(), context.settings())
    return {**summary(result), "writebacks_written": drained.written}


@app.task(base=SfsyncTask, bind=True, name="sfsync.sync.poll_accounts")
def poll_accounts_task(
    self: SfsyncTask, trigger: str = "beat", full: bool = False, since: str | None = None
) -> dict[str, Any]:
    """Poll changed accounts once: names and aliases of provisioned customers stay current."""
    result = poll_accounts(
        context.store(), context.salesforce(), context.settings(), **_options(trigger, full, since)
    )
    return summary(result)


@app.task(base=SfsyncTask, bind=True, name="sfsync.sync.reconcile")
def reconcile_task(self: SfsyncTask, trigger: str = "beat") -> dict[str, Any]:
    """Compare the org's won deals with the store once (skipped if another run holds it)."""
    result = reconcile(
        context.store(), context.salesforce(), context.settings(), trigger=RunTrigger(trigger)
    )
    return summary(result)


class ProvisionOpportunityTask(SfsyncTask):
    abstract = True
    dead_letter_source = DeadLetterSource.OPPORTUNITY

    def dead_letter_reference(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value = args[0] if args else kwargs.get("opportunity_id")
        return str(value) if value else None


@app.task(base=ProvisionOpportunityTask, bind=True, name="sfsync.sync.provision_opportunity")
def provision_opportunity_task(self: SfsyncTask, opportunity_id: str) -> dict[str, Any]:
    """Fetch one opportunity by id and provision it now."""
    counters = provision_opportunities(
        context.store(), context.salesforce(), context.settings(), [opportunity_id]
    )
    return asdict(counters)
