"""Sync commands: `sync run|opportunity|reconcile|status` (and `runs`, from `commands.runs`).

The streams `sync run` offers, and the task each is enqueued as, come from the stream
registry (`sync.streams.registry`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import click

from sfsync.commands.common import (
    App,
    OperationFailed,
    console,
    emit_json,
    err_console,
    json_option,
    parse_instant,
    pass_app,
    producer,
    records_progress,
    warn_if_no_worker,
)
from sfsync.commands.epilog import examples
from sfsync.commands.mapping_check import require_mapping_fits
from sfsync.commands.output import limit_option, safe_text
from sfsync.commands.plan import dry_run_command
from sfsync.commands.runs import sync_status
from sfsync.models.types import RunStatus, RunTrigger, Stream
from sfsync.sync.opportunities import provision_opportunities
from sfsync.sync.run_result import RunResult
from sfsync.sync.salesforce import SalesforceClient, SalesforceError, normalize_id
from sfsync.sync.streams.base import Cadence
from sfsync.sync.streams.reconcile import reconcile
from sfsync.sync.streams.registry import STREAMS
from sfsync.tasks import names

__all__ = [
    "StreamChoice",
    "stream_tasks",
    "sync",
    "sync_opportunity",
    "sync_reconcile",
    "sync_run",
]


def stream_tasks() -> dict[str, str]:
    """Each stream `sync run` offers → the name of the task that runs it."""
    # Plain strings: click shows an enum member by its NAME.
    return {str(s.name): getattr(names, s.task) for s in STREAMS if s.cadence is Cadence.POLL}


class StreamChoice(click.Choice):  # type: ignore[type-arg]
    """`--stream`'s choices, read from the registry when asked (not when imported)."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return [*stream_tasks(), "all"]

    @choices.setter
    def choices(self, value: object) -> None:
        """Click's constructor sets them; the registry is the only source."""


@click.group(
    epilog=examples(
        "sfsync sync status",
        "sfsync sync run                       # enqueue both polls for the worker",
        "sfsync sync run --inline --stream accounts",
        "sfsync sync run --inline --since 2026-01-01",
        "sfsync sync run --dry-run                # what a run would do; writes nothing",
        "sfsync sync opportunity 0065g000000000QAAQ",
    )
)
def sync() -> None:
    """Salesforce sync: manual runs and status."""


sync.add_command(sync_status)


@sync.command("run")
@click.option(
    "--stream",
    type=StreamChoice(),
    default="all",
    show_default=True,
)
@click.option("--inline", is_flag=True, help="Run in this process (default: enqueue a task).")
@click.option("--full", is_flag=True, help="Ignore the cursor: read everything.")
@click.option("--since", help="Read changes since this ISO 8601 instant.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what the run would do, writing nothing (store, cursor, Salesforce); --inline.",
)
@limit_option
@json_option
@pass_app
def sync_run(
    app: App,
    stream: str,
    inline: bool,
    full: bool,
    since: str | None,
    dry_run: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Poll Salesforce now (enqueued for the worker, or --inline here)."""
    streams = [Stream(s) for s in stream_tasks()] if stream == "all" else [Stream(stream)]
    since_at = parse_instant(since, "--since") if since else None
    if dry_run:
        dry_run_command(app, streams, full, since_at, limit, as_json)
        return
    if not inline:
        _enqueue(app, streams, full, since_at, as_json)
        return
    # One client for every stream, as a dry run has: one login, and what it learnt of the
    # org (its currency mode) is not asked again per stream.
    with SalesforceClient(app.settings) as client:
        results = [
            _run_inline(app, client, s, full, since_at, quiet=as_json, check=n == 0)
            for n, s in enumerate(streams)
        ]
    if as_json:
        emit_json([r.summary() for r in results] if len(results) > 1 else results[0].summary())
    else:
        for r in results:
            _print_result(r)
    if any(r.status is RunStatus.FAILED for r in results):
        raise SystemExit(1)


def _enqueue(
    app: App, streams: list[Stream], full: bool, since: datetime | None, as_json: bool
) -> None:
    celery = producer(app)
    tasks = stream_tasks()
    ids = []
    for stream in streams:
        kwargs = {"trigger": RunTrigger.MANUAL.value, "full": full}
        if since is not None:
            kwargs["since"] = since.isoformat()
        ids.append(str(celery.send_task(tasks[stream], kwargs=kwargs).id))
    warn_if_no_worker(celery, tasks[streams[0]])  # every stream's task goes to `sync`
    if as_json:
        emit_json(
            {"enqueued": [{"stream": s, "task_id": i} for s, i in zip(streams, ids, strict=True)]}
        )
    else:
        for stream, task_id in zip(streams, ids, strict=True):
            console.print(f"enqueued {tasks[stream]} ({task_id})", highlight=False)


def _run_inline(
    app: App,
    client: SalesforceClient,
    stream: Stream,
    full: bool,
    since: datetime | None,
    *,
    quiet: bool,
    check: bool,
) -> RunResult:
    with records_progress(stream.value, disable=quiet) as bar:
        task = bar.add_task(stream.value, total=None)
        try:
            if check:  # once per command, before anything is read
                require_mapping_fits(client, app.settings)
            return STREAMS[stream](app.store, client, app.settings).run(
                trigger=RunTrigger.MANUAL,
                full=full,
                since=since,
                progress=lambda n: bar.advance(task, n),
            )
        except SalesforceError as exc:
            raise OperationFailed(f"{stream.value} run failed: {exc}") from exc


def _print_result(r: RunResult) -> None:
    c = r.counters
    console.print(
        f"[bold]{r.stream.value}[/] run {r.run_id}: {r.status.value} — {c.records_seen} seen, "
        f"{c.customers_created} customers created, {c.contracts_created} contracts created, "
        f"{c.contracts_updated} updated, {c.contracts_unchanged} unchanged, "
        f"{c.contracts_ended} ended, {c.contracts_archived} archived, "
        f"{c.aliases_added} aliases added, {c.dead_lettered} dead-lettered, "
        f"{c.api_calls} API calls",
        highlight=False,
    )
    if r.error:
        err_console.print(safe_text(f"  {r.error}"), highlight=False)


@sync.command("opportunity")
@click.argument("ids", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_app
def sync_opportunity(app: App, ids: tuple[str, ...], as_json: bool) -> None:
    """Provision these opportunities now (15- or 18-character ids)."""
    for value in ids:
        try:
            normalize_id(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="ID") from None
    try:
        with SalesforceClient(app.settings) as client:
            counters = provision_opportunities(app.store, client, app.settings, list(ids))
    except SalesforceError as exc:
        raise OperationFailed(str(exc)) from exc
    if as_json:
        emit_json(asdict(counters))
    else:
        console.print(
            f"{counters.contracts_created} created, {counters.contracts_updated} updated, "
            f"{counters.contracts_unchanged} unchanged, {counters.dead_lettered} dead-lettered",
            highlight=False,
        )
    if counters.dead_lettered:
        raise SystemExit(1)


@sync.command("reconcile")
@click.option("--inline", is_flag=True, help="Run in this process (default: enqueue a task).")
@json_option
@pass_app
def sync_reconcile(app: App, inline: bool, as_json: bool) -> None:
    """Compare every won deal in Salesforce with the store and fix the drift."""
    if not inline:
        celery = producer(app)
        kwargs = {"trigger": RunTrigger.MANUAL.value}
        task_id = str(celery.send_task(names.RECONCILE, kwargs=kwargs).id)
        warn_if_no_worker(celery, names.RECONCILE)
        if as_json:
            emit_json({"enqueued": [{"stream": Stream.RECONCILE, "task_id": task_id}]})
        else:
            console.print(f"enqueued {names.RECONCILE} ({task_id})", highlight=False)
        return
    try:
        with SalesforceClient(app.settings) as client:
            result = reconcile(app.store, client, app.settings, trigger=RunTrigger.MANUAL)
    except SalesforceError as exc:
        raise OperationFailed(f"reconciliation failed: {exc}") from exc
    if as_json:
        emit_json(result.summary())
        return
    c = result.counters
    console.print(
        f"[bold]reconcile[/] run {result.run_id}: {result.status.value} — {c.records_seen} won "
        f"deals; drift: {c.drift_missing} missing, {c.drift_extra} extra, "
        f"{c.drift_changed} changed; {c.api_calls} API calls",
        highlight=False,
    )
    if result.error:
        err_console.print(f"  {result.error}", highlight=False)
