"""Sync commands: `sync run|opportunity|status` and `runs list|show`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from sfsync.commands.common import (
    App,
    OperationFailed,
    console,
    emit_json,
    err_console,
    examples,
    json_option,
    parse_instant,
    pass_app,
    producer,
    records_progress,
    warn_if_no_worker,
)
from sfsync.commands.output import (
    Column,
    duration,
    limit_option,
    note,
    print_lines,
    print_table,
    safe_text,
    table_options,
)
from sfsync.models.operations.cursors import list_cursors
from sfsync.models.operations.runs import get_run, last_run, list_runs, stream_timing
from sfsync.models.operations.writebacks import count_pending
from sfsync.models.tables import SyncRun
from sfsync.models.types import RunStatus, RunTrigger, Stream, utcnow
from sfsync.sync.runner import RunResult
from sfsync.sync.salesforce import SalesforceError
from sfsync.tasks import names

__all__ = [
    "STREAM_TASKS",
    "run_view",
    "runs",
    "runs_list",
    "runs_show",
    "sync",
    "sync_opportunity",
    "sync_reconcile",
    "sync_run",
    "sync_status",
]

STREAM_TASKS = {
    Stream.OPPORTUNITIES: names.POLL_OPPORTUNITIES,
    Stream.ACCOUNTS: names.POLL_ACCOUNTS,
}

if TYPE_CHECKING:
    from sfsync.sync.salesforce import SalesforceClient


def run_view(run: SyncRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "stream": run.stream,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "records_seen": run.records_seen,
        "customers_created": run.customers_created,
        "customers_updated": run.customers_updated,
        "contracts_created": run.contracts_created,
        "contracts_updated": run.contracts_updated,
        "contracts_unchanged": run.contracts_unchanged,
        "contracts_ended": run.contracts_ended,
        "contracts_archived": run.contracts_archived,
        "drift": {
            "missing": run.drift_missing,
            "extra": run.drift_extra,
            "changed": run.drift_changed,
        },
        "window_shrinks": run.window_shrinks,
        "window_seconds": run.window_seconds,
        "aliases_added": run.aliases_added,
        "dead_lettered": run.dead_lettered,
        "api_calls": run.api_calls,
        "api_usage": {"used": run.api_usage_used, "max": run.api_usage_max}
        if run.api_usage_max
        else None,
        "cursor_before": run.cursor_before,
        "cursor_after": run.cursor_after,
        "error": run.error,
    }


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


@sync.command("run")
@click.option(
    "--stream",
    type=click.Choice(["opportunities", "accounts", "all"]),
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
    streams = list(STREAM_TASKS) if stream == "all" else [Stream(stream)]
    since_at = parse_instant(since, "--since") if since else None
    if dry_run:
        from sfsync.commands.plan import dry_run_command

        dry_run_command(app, streams, full, since_at, limit, as_json)
        return
    if not inline:
        _enqueue(app, streams, full, since_at, as_json)
        return
    from sfsync.sync.salesforce import SalesforceClient

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
    ids = []
    for stream in streams:
        kwargs = {"trigger": RunTrigger.MANUAL.value, "full": full}
        if since is not None:
            kwargs["since"] = since.isoformat()
        ids.append(str(celery.send_task(STREAM_TASKS[stream], kwargs=kwargs).id))
    warn_if_no_worker(celery, STREAM_TASKS[streams[0]])  # every stream's task goes to `sync`
    if as_json:
        emit_json(
            {"enqueued": [{"stream": s, "task_id": i} for s, i in zip(streams, ids, strict=True)]}
        )
    else:
        for stream, task_id in zip(streams, ids, strict=True):
            console.print(f"enqueued {STREAM_TASKS[stream]} ({task_id})", highlight=False)


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
    from sfsync.commands.mapping_check import require_mapping_fits
    from sfsync.sync.accounts import poll_accounts
    from sfsync.sync.opportunities import poll_opportunities

    poll = poll_opportunities if stream is Stream.OPPORTUNITIES else poll_accounts
    with records_progress(stream.value, disable=quiet) as bar:
        task = bar.add_task(stream.value, total=None)
        try:
            if check:  # once per command, before anything is read
                require_mapping_fits(client, app.settings)
            return poll(
                app.store,
                client,
                app.settings,
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
    from sfsync.sync.opportunities import provision_opportunities
    from sfsync.sync.salesforce import SalesforceClient, normalize_id

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
    from sfsync.sync.reconcile import reconcile
    from sfsync.sync.salesforce import SalesforceClient

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


def _span(seconds: float | None) -> str:
    return duration(seconds) if seconds is not None else "-"


@sync.command("status")
@table_options
@json_option
@pass_app
def sync_status(app: App, as_json: bool) -> None:
    """Freshness, backlog, cursor and the last run per stream, and pending writebacks.

    Freshness: time since the start of the last successful run (which read every change up
    to its start). Backlog: while a run is going, the age of the oldest change it has read
    and not yet applied. The cursor is the newest change applied: on a quiet org it stays
    old however fresh the store is.
    """
    now = utcnow()
    with app.session() as s:
        cursors = {c.stream: c for c in list_cursors(s)}
        doc: dict[str, Any] = {"streams": [], "pending_writebacks": count_pending(s)}
        for stream in Stream:
            cursor = cursors.get(stream)
            last = last_run(s, stream)
            timing = stream_timing(s, stream, now)
            doc["streams"].append(
                {
                    "stream": stream,
                    "freshness_seconds": timing.freshness_seconds,
                    "fresh_as_of": timing.fresh_as_of,
                    "backlog_seconds": timing.backlog_seconds,
                    "backlog_since": timing.backlog_since,
                    "cursor": cursor.position if cursor else None,
                    "lease_owner": cursor.lease_owner if cursor else None,
                    "lease_expires_at": cursor.lease_expires_at if cursor else None,
                    "last_run": run_view(last) if last else None,
                }
            )
    if as_json:
        emit_json(doc)
        return

    def drift(row: dict[str, Any]) -> str:
        last = row["last_run"]
        if not last or row["stream"] is not Stream.RECONCILE:
            return "-"
        d = last["drift"]
        return f"{d['missing']} missing, {d['extra']} extra, {d['changed']} changed"

    print_table(
        [
            Column("stream", priority=0),
            Column("freshness", priority=1),
            Column("backlog", priority=2),
            Column("cursor", priority=7),
            Column("last run", key=True, priority=4),
            Column("status", priority=3),
            Column("api calls", priority=6),
            Column("drift", priority=5),
            Column("error", priority=8),
        ],
        (
            (
                row["stream"].value,
                _span(row["freshness_seconds"]),
                _span(row["backlog_seconds"]),
                row["cursor"].isoformat() if row["cursor"] else "-",
                last["id"] if (last := row["last_run"]) else "-",
                last["status"].value if last else "-",
                last["api_calls"] if last else "-",
                drift(row),
                (last["error"] or "") if last else "",
            )
            for row in doc["streams"]
        ),
    )
    usage = next((r["last_run"]["api_usage"] for r in doc["streams"] if r["last_run"]), None)
    if usage:
        share = 100 * usage["used"] / usage["max"]
        console.print(f"API usage: {usage['used']}/{usage['max']} ({share:.1f}%)")
    console.print(f"pending writebacks: {doc['pending_writebacks']}")


@click.group(
    epilog=examples(
        "sfsync runs list --stream opportunities --limit 5",
        "sfsync runs show 12 --json",
    )
)
def runs() -> None:
    """Sync run history."""


@runs.command("list")
@table_options
@click.option("--stream", type=click.Choice([s.value for s in Stream]))
@click.option("--limit", default=20, show_default=True)
@json_option
@pass_app
def runs_list(app: App, stream: str | None, limit: int, as_json: bool) -> None:
    """Recent sync runs, newest first."""
    with app.session() as s:
        rows = [
            run_view(r)
            for r in list_runs(s, stream=Stream(stream) if stream else None, limit=limit)
        ]
    if as_json:
        emit_json(rows)
        return
    shown = print_table(
        [
            Column("id", key=True),
            *(Column(h) for h in ("stream", "trigger", "status", "started", "seen", "created")),
            *(Column(h) for h in ("updated", "dead", "api")),
            Column("error", priority=99),
        ],
        (
            (
                r["id"],
                r["stream"].value,
                r["trigger"].value,
                r["status"].value,
                r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["records_seen"],
                r["contracts_created"],
                r["contracts_updated"],
                r["dead_lettered"],
                r["api_calls"],
                r["error"] or "",
            )
            for r in rows
        ),
    )
    if not shown:
        note("no sync runs")


@runs.command("show")
@click.argument("run_id", type=int)
@json_option
@pass_app
def runs_show(app: App, run_id: int, as_json: bool) -> None:
    """One sync run in full."""
    with app.session() as s:
        view = run_view(get_run(s, run_id))
    if as_json:
        emit_json(view)
        return
    print_lines(
        *(
            f"{key}: {getattr(value, 'value', value) if value is not None else '-'}"
            for key, value in view.items()
        )
    )
