"""How `sync run --dry-run` shows its plan: a summary table, then each change on one line."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sfsync.commands.common import App, OperationFailed, emit_json, records_progress
from sfsync.commands.mapping_check import require_mapping_fits
from sfsync.commands.output import DEFAULT_TABLE_LIMIT, Column, note, print_lines, print_table
from sfsync.models.types import Stream
from sfsync.sync.dry_run import DryRun, dry_run
from sfsync.sync.salesforce import SalesforceClient, SalesforceError

__all__ = ["dry_run_command", "print_plan"]

#: Terms a contract line shows, in this order, when they change (or on creation).
_TERMS = ("name", "starting_at", "ending_before", "amount", "currency", "status", "customer_id")


def dry_run_command(
    app: App,
    streams: list[Stream],
    full: bool,
    since: datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """`sync run --dry-run`: the plan of the streams' runs, as a table or `--json`."""
    with (
        SalesforceClient(app.settings) as client,
        records_progress("dry run", disable=as_json) as bar,
    ):
        task = bar.add_task("dry run", total=None)
        try:
            require_mapping_fits(client, app.settings)
            plan = dry_run(
                app.store,
                client,
                app.settings,
                streams,
                full=full,
                since=since,
                progress=lambda _stream, n: bar.advance(task, n),
            )
        except SalesforceError as exc:
            raise OperationFailed(f"dry run failed: {exc}") from exc
    if as_json:
        emit_json(plan.document())
    else:
        print_plan(plan, limit or DEFAULT_TABLE_LIMIT)
    if plan.failed:
        raise SystemExit(1)


def print_plan(plan: DryRun, limit: int) -> None:
    """The summary table, then up to `limit` lines per kind of change."""
    summary = plan.summary()
    print_table(
        [Column("what"), Column("action"), Column("count")],
        (
            (group.replace("_", " "), action, count)
            for group, counts in summary.items()
            for action, count in sorted(counts.items())
        ),
    )
    for r in plan.runs:
        error = f" — {r.error}" if r.error else ""
        print_lines(
            f"{r.stream.value}: {r.status.value}, {r.counters.records_seen} records read, "
            f"{r.counters.api_calls} API calls{error}"
        )
    doc = plan.document()
    _section("customers", doc["customers"], _customer, limit)
    _section("aliases", doc["aliases"], _alias, limit)
    _section("contracts", doc["contracts"], lambda c: _contract(plan, c), limit)
    _section("dead letters", doc["dead_letters"], _letter, limit)
    _section("writebacks", doc["writebacks"], lambda w: f"queue  {w['account_id']}", limit)
    note("dry run: nothing was written to the store, the cursors or Salesforce")


def _section(
    title: str,
    items: Sequence[Mapping[str, Any]],
    line: Callable[[Mapping[str, Any]], str],
    limit: int,
) -> None:
    if not items:
        return
    print_lines("", f"{title}:", *(f"  {line(item)}" for item in items[:limit]))
    if len(items) > limit:
        note(f"{len(items) - limit} more {title} not shown; --limit N or --json for all")


def _who(customer: Mapping[str, Any] | None) -> str:
    if not customer:
        return "nobody"
    account = customer.get("sfdc_account_id")
    return f"{customer['name']} ({account or customer['id']})"


def _customer(c: Mapping[str, Any]) -> str:
    who = _who(c["customer"])
    if c["action"] == "rename":
        return f"rename  {c['before_name']} → {who}"
    if c["merged_into"]:
        return f"{c['action']}  {who}, merged into {_who(c['merged_into'])}"
    return f"{c['action']}  {who}"


def _alias(a: Mapping[str, Any]) -> str:
    why = f" ({a['reason']})" if a["reason"] else ""
    if a["action"] == "add":
        return f"add     {a['alias']} → {_who(a['to'])}"
    if a["action"] == "move":
        return f"move    {a['alias']}: {_who(a['from'])} → {_who(a['to'])}{why}"
    return f"{a['action']} {a['alias']} from {_who(a['from'])}{why}"


def _terms(plan: DryRun, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    def shown(key: str, terms: Mapping[str, Any]) -> str:
        value = terms.get(key)
        if key == "customer_id" and value:
            return _who(plan.customer(value))
        return str(value) if value not in (None, "") else "-"

    if before is None:
        return ", ".join(f"{k} {shown(k, after)}" for k in _TERMS[:-1] if after.get(k))
    return ", ".join(
        f"{k} {shown(k, before)} → {shown(k, after)}"
        for k in _TERMS
        if before.get(k) != after.get(k)
    )


def _contract(plan: DryRun, c: Mapping[str, Any]) -> str:
    deal = c["opportunity_id"] or c["contract_id"]
    return (
        f"{c['action']:<7} {c['name']} ({deal}) of {_who(c['customer'])}: "
        f"{_terms(plan, c['before'], c['after'])}"
    )


def _letter(d: Mapping[str, Any]) -> str:
    return f"{d['action']:<8} {d['source']} {d['reference'] or '-'}: {d['error_class']}: {d['why']}"
