"""Run history and stream status: `runs list|show` and `sync status`."""

from __future__ import annotations

from typing import Any

import click

from sfsync.commands.common import App, console, emit_json, json_option, pass_app
from sfsync.commands.epilog import examples
from sfsync.commands.output import (
    Column,
    duration,
    note,
    print_lines,
    print_table,
    table_options,
)
from sfsync.models.operations.cursors import INSTANT, list_cursors
from sfsync.models.operations.runs import get_run, last_run, list_runs, stream_timing
from sfsync.models.operations.writebacks import count_pending
from sfsync.models.tables import SyncRun
from sfsync.models.types import Stream, utcnow

__all__ = ["run_view", "runs", "runs_list", "runs_show", "sync_status"]


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


def _span(seconds: float | None) -> str:
    return duration(seconds) if seconds is not None else "-"


@click.command("status")
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
                    # Every stream's cursor is an instant so far.
                    "cursor": INSTANT.load(cursor.position) if cursor and cursor.position else None,
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
