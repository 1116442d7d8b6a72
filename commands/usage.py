"""Usage commands: `usage ingest`, `usage summary`, `usage pending`, `usage show`.

`usage ingest` reads with `sync.usage.reader` (the one events reader) and goes through
the same `sync.usage.ingest` as the Celery task, in transactions of up to 20,000 events
or half a second (`sync.usage.ingest_stream`), streaming the input so files of any size fit
in memory.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from typing import IO

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sfsync.commands.common import (
    App,
    OperationFailed,
    console,
    emit_json,
    err_console,
    json_option,
    parse_instant,
    parse_uuid,
    pass_app,
)
from sfsync.commands.epilog import examples
from sfsync.commands.output import Column, note, print_lines, print_table, table_options
from sfsync.models import InvalidInput, NotFound
from sfsync.models.contracts.records import billing_period, get_contract
from sfsync.models.reports.search import customer_by_id_or_alias
from sfsync.models.usage.events import get_event, pending_keys, resolve_pending
from sfsync.models.usage.summary import GroupBy, property_name, summarize
from sfsync.sync.usage import (
    StreamTotals,
    UnreadableInput,
    UsageRules,
    ingest_stream,
    read_events,
)

__all__ = ["usage", "usage_ingest", "usage_pending", "usage_show", "usage_summary"]


@click.group(
    epilog=examples(
        "sfsync usage ingest events.jsonl",
        "sfsync usage summary widgets-eu --group-by alias --sum property:requests",
        "sfsync usage pending",
        "sfsync usage show inv-2026-11-24-000417",
    )
)
def usage() -> None:
    """Usage events: ingest, summaries, pending keys."""


# --- ingest ------------------------------------------------------------------------------


@usage.command("ingest")
@click.argument("source", type=click.File("rb"))
@json_option
@pass_app
def usage_ingest(app: App, source: IO[bytes], as_json: bool) -> None:
    """Ingest usage events from FILE (JSON Lines or a JSON array; '-' reads stdin).

    Invalid events become dead letters; duplicates are counted and skipped. Pending usage is
    attributed afterwards.
    """
    rules = UsageRules.of(app.settings)
    size = _size(source)
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        TextColumn("{task.fields[events]} events"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json and not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("ingest", total=size, events=0)

        stored = [0]  # events processed by the transactions committed so far

        def show(done: StreamTotals, consumed: int) -> None:
            stored[0] = done.events
            progress.update(task, completed=consumed, events=done.events)

        try:
            totals = ingest_stream(
                app.session, read_events(source, rules.max_event_chars), rules, progress=show
            )
        except UnreadableInput as exc:  # what came before the break is stored
            raise OperationFailed(f"{exc}; {stored[0]} events before it were processed") from exc
        progress.update(task, completed=size, events=totals.events)
    with app.session() as s:
        resolved = resolve_pending(s)
    if as_json:
        emit_json(totals.counts())
        return
    console.print(
        f"accepted {totals.accepted}, duplicate {totals.duplicate}, "
        f"rejected {totals.rejected} (dead-lettered); attributed {resolved} pending",
        highlight=False,
    )


def _size(source: IO[bytes]) -> int | None:
    try:
        if source is sys.stdin.buffer or not source.seekable():
            return None
        return int(source.seek(0, 2)) or None
    except (OSError, ValueError):
        return None
    finally:
        if source.seekable():
            source.seek(0)


# --- summary -----------------------------------------------------------------------------


@usage.command("summary")
@table_options
@click.argument("customer")
@click.option("--from", "start", help="Earliest event time (inclusive), ISO 8601.")
@click.option("--to", "end", help="Latest event time (exclusive), ISO 8601.")
@click.option("--contract", "contract_id", help="Limit to this contract's period.")
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    metavar="alias|event_type|property:NAME",
    help="Group by the key the event was sent with, its type, or a property (repeatable).",
)
@click.option(
    "--sum",
    "sum_specs",
    multiple=True,
    metavar="property:NAME",
    help="Add up a property (numbers and numeric strings; other values are ignored).",
)
@json_option
@pass_app
def usage_summary(
    app: App,
    customer: str,
    start: str | None,
    end: str | None,
    contract_id: str | None,
    group_by: tuple[str, ...],
    sum_specs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Event counts and sums of CUSTOMER's usage (a customer id or one of its aliases)."""
    try:
        groups = [GroupBy.parse(g) for g in group_by]
        sums = [property_name(s) for s in sum_specs]
    except InvalidInput as exc:
        raise click.BadParameter(str(exc)) from None
    lower = parse_instant(start, "--from") if start else None
    upper = parse_instant(end, "--to") if end else None
    with app.session() as s:
        found = customer_by_id_or_alias(s, customer).id
        if contract_id:
            contract = get_contract(s, parse_uuid(contract_id, "--contract"))
            if contract.customer_id != found:
                raise NotFound(f"contract {contract.id} does not belong to customer {found}")
            lower, upper = billing_period(contract, lower, upper)
        rows = summarize(s, found, start=lower, end=upper, group_by=groups, sums=sums)
    document = {
        "customer_id": found,
        "from": lower,
        "to": upper,
        "contract_id": contract_id,
        "group_by": [g.label for g in groups],
        "groups": [{"key": r.key, "events": r.events, "sums": r.sums} for r in rows],
        "total": {
            "events": sum(r.events for r in rows),
            "sums": {name: sum((r.sums[name] for r in rows), start=Decimal(0)) for name in sums},
        },
    }
    if as_json:
        emit_json(document)
        return
    print_lines(f"usage of customer {found}")
    print_table(
        [
            *(Column(g.label, key=True) for g in groups),
            Column("events"),
            *(Column(f"sum {n}") for n in sums),
        ],
        (
            (
                *[v if v is not None else "-" for v in r.key.values()],
                r.events,
                *[r.sums[n] for n in sums],
            )
            for r in rows
        ),
    )


# --- pending and show --------------------------------------------------------------------


@usage.command("pending")
@table_options
@click.option("--limit", default=1000, show_default=True, help="At most this many keys.")
@json_option
@pass_app
def usage_pending(app: App, limit: int, as_json: bool) -> None:
    """Keys with unattributed usage (no customer id or attached alias matches them yet)."""
    with app.session() as s:
        rows = pending_keys(s, limit=limit)
    document = [
        {
            "customer_key": r.customer_key,
            "events": r.events,
            "first_seen": r.first_seen,
            "last_seen": r.last_seen,
        }
        for r in rows
    ]
    if as_json:
        emit_json(document)
        return
    if not rows:
        note("no pending usage")
        return
    print_table(
        [Column("key", key=True), Column("events"), Column("first seen"), Column("last seen")],
        ((r.customer_key, r.events, _when(r.first_seen), _when(r.last_seen)) for r in rows),
    )


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


@usage.command("show")
@click.argument("transaction_id")
@json_option
@pass_app
def usage_show(app: App, transaction_id: str, as_json: bool) -> None:
    """Show one stored event and its attribution."""
    with app.session() as s:
        event = get_event(s, transaction_id)
    document = {
        "transaction_id": event.transaction_id,
        "customer_key": event.customer_key,
        "customer_id": event.customer_id,
        "status": "attributed" if event.customer_id else "pending",
        "event_type": event.event_type,
        "timestamp": event.timestamp,
        "properties": event.properties,
        "received_at": event.received_at,
    }
    if as_json:
        emit_json(document)
        return
    print_lines(
        *(
            f"{key}: {json.dumps(value) if isinstance(value, dict) else value}"
            for key, value in document.items()
        )
    )
