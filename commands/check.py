"""`sfsync check`: connect, write nothing, and say whether a sync would run.

The Salesforce half is `sync.salesforce.readiness` (facts gathered, then a pure
assessment); the broker half asks the broker and the workers (`tasks.workers`). Exit 0 only
when a sync would run, 1 when a problem was found, 2 for a configuration error (as every
command).
"""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from sfsync import celery_app
from sfsync.commands.common import App, console, emit_json, json_option, pass_app
from sfsync.commands.epilog import examples
from sfsync.commands.output import safe_text
from sfsync.config.data_folder import DataFolder, data_folder
from sfsync.sync.mapping_check import check_mapping_against_org
from sfsync.sync.salesforce import (
    SalesforceClient,
    SalesforceError,
    assess_readiness,
    gather_org_facts,
)
from sfsync.tasks.workers import no_worker_line, queue_consumers

__all__ = ["check"]


@click.command(
    "check",
    epilog=examples(
        "sfsync check                                  # one screen; exit 0 when a sync would run",
        "sfsync check --json | jq .problems",
    ),
)
@json_option
@pass_app
def check(app: App, as_json: bool) -> None:
    """Connect to Salesforce and the broker, write nothing, and report what a sync needs.

    Login mode and org, API version and allowance, access to every field the mapping reads
    (and edit access to the writeback field), multi-currency, the size of a first sync, and
    whether a worker consumes each queue. Each problem is one line naming the setting or
    the Salesforce permission to fix.
    """
    app.new_store_expected = True  # `check` writes nothing, so never announces a new store
    settings = app.settings
    folder = data_folder(settings)
    salesforce, sf_problems = _salesforce(app)
    broker, broker_problems = _broker(app)
    problems = [*sf_problems, *broker_problems]
    document = {
        "ok": not problems,
        **salesforce,
        "broker": broker,
        "data_folder": {
            "path": str(folder.path),
            "chosen_by": folder.chosen_by,
            "store": None if folder.store_file is None else str(folder.store_file),
            "store_exists": folder.store_exists,
        },
        "problems": problems,
    }
    if as_json:
        emit_json(document)
    else:
        _print(document, settings.public_broker_url, folder)
    if problems:
        raise SystemExit(1)


def _salesforce(app: App) -> tuple[dict[str, Any], list[str]]:
    with SalesforceClient(app.settings) as client:
        try:
            facts, needs = gather_org_facts(client, app.settings)
            mapping = check_mapping_against_org(client, app.settings, facts.objects)
        except SalesforceError as exc:
            login = {"mode": client.auth_mode.value, "error": str(exc)}
            return {"login": login}, [f"Salesforce: {exc}"]
    # A field the mapping names is told by the mapping check (it names the file's line);
    # an object the integration user cannot read, once by the readiness check.
    unreadable = {name for name, info in facts.objects.items() if info is None}
    mapping = [p for p in mapping if p.use.sobject not in unreadable]
    told = frozenset((p.use.sobject, p.use.name.lower()) for p in mapping)
    readiness = assess_readiness(facts, needs, told)
    return dict(readiness.document), [*readiness.problems, *(p.line for p in mapping)]


def _broker(app: App) -> tuple[dict[str, Any], list[str]]:
    settings = app.settings
    celery = celery_app.create_app(settings)
    doc: dict[str, Any] = {"url": settings.public_broker_url, "answers": False, "queues": {}}
    try:
        celery_app.check_broker(celery)
        consumers = queue_consumers(celery)
    except celery_app.BrokerUnreachable as exc:
        return doc, [str(exc)]
    doc["answers"] = True
    doc["queues"] = {queue: list(consumers.of(queue)) for queue in celery_app.QUEUES}
    return doc, [no_worker_line(queue) for queue in consumers.idle()]


def _print(doc: dict[str, Any], broker_url: str, folder: DataFolder) -> None:
    login = doc["login"]
    rows: list[tuple[str, str]] = [("Data folder", folder.summary())]
    if "error" in login:
        rows.append(("Salesforce", f"{login['mode']} login failed"))
    else:
        edition = f" ({login['edition']})" if login.get("edition") else ""
        org = f"org {login['org_id']} {login['org_name']}{edition}"
        rows.append(("Salesforce", f"{login['mode']} login, {org}"))
        api = doc["api"]
        usage = (
            f"{api['used']:,} of {api['max']:,} calls used, {api['remaining']:,} remaining"
            if api["max"] is not None
            else "allowance unknown"
        )
        rows.append(("API", f"v{api['version']}, {usage}"))
        currency = doc["multi_currency"]
        how = "SFSYNC_SF_MULTI_CURRENCY" if currency["override"] is not None else "detected"
        kind = "multi-currency" if currency["used"] else "single-currency"
        rows.append(("Currency", f"{kind} ({how})"))
        rows.append(("Fields", _fields(doc["fields"])))
        first = doc["first_sync"]
        rows.append(
            (
                "First sync",
                f"{_n(first['won_opportunities'])} won opportunities and "
                f"{_n(first['accounts'])} accounts: about {first['api_calls']} query calls "
                f"at {first['batch_size']:,} records per page",
            )
        )
    broker = doc["broker"]
    if broker["answers"]:
        queues = ", ".join(
            f"{queue}: {', '.join(workers) or 'no worker'}"
            for queue, workers in broker["queues"].items()
        )
        rows.append(("Broker", f"{broker_url} answers; {queues}"))
    else:
        rows.append(("Broker", f"{broker_url} does not answer"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(
            Text.assemble((label.ljust(width), "bold"), "  ", safe_text(value)), soft_wrap=True
        )
    problems = doc["problems"]
    if not problems:
        console.print(Text("ready: a sync would run", style="green"))
        return
    console.print(Text(f"{len(problems)} problem(s):", style="bold red"))
    for line in problems:
        console.print(Text.assemble("  - ", safe_text(line)), soft_wrap=True)


def _fields(fields: list[dict[str, Any]]) -> str:
    per_object: dict[str, list[int]] = {}
    for entry in fields:
        seen = per_object.setdefault(entry["object"], [0, 0])
        seen[0] += bool(entry["readable"])
        seen[1] += 1
    parts = [f"{obj} {ok}/{total} readable" for obj, (ok, total) in per_object.items()]
    parts += [
        f"writeback {e['object']}.{e['field']} {'editable' if e['editable'] else 'NOT editable'}"
        for e in fields
        if "editable" in e
    ]
    return ", ".join(parts)


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
