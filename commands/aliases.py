"""`sfsync aliases`: attach, remove and list ingest aliases, and see how syncs moved them."""

from __future__ import annotations

import click

from sfsync.commands.common import App, console, emit_json, json_option, parse_uuid, pass_app
from sfsync.commands.epilog import examples
from sfsync.commands.output import (
    Column,
    limit_option,
    more_note,
    print_table,
    row_limit,
    table_options,
)
from sfsync.commands.views import alias_move_view, alias_view, describe_source
from sfsync.models.aliases.lookups import list_aliases
from sfsync.models.aliases.moves import count_moves, list_moves
from sfsync.models.aliases.ownership import add_aliases, remove_aliases
from sfsync.models.customers.records import get_customer
from sfsync.models.keys import canonical_key

__all__ = ["aliases", "aliases_add", "aliases_list", "aliases_moves", "aliases_remove"]


@click.group(
    epilog=examples(
        "sfsync aliases add CUSTOMER_ID we-apac we-latam",
        "sfsync aliases remove CUSTOMER_ID we-apac --json",
        "sfsync aliases list CUSTOMER_ID",
        "sfsync aliases moves --alias we-apac",
        "sfsync aliases moves --customer CUSTOMER_ID --json",
    )
)
def aliases() -> None:
    """Ingest aliases (attaching one attributes its stored usage)."""


@aliases.command("add")
@click.argument("customer_id")
@click.argument("alias_values", metavar="ALIAS...", nargs=-1, required=True)
@json_option
@pass_app
def aliases_add(app: App, customer_id: str, alias_values: tuple[str, ...], as_json: bool) -> None:
    """Attach ingest aliases to a customer."""
    cid = parse_uuid(customer_id, "CUSTOMER")
    with app.session() as s:
        added = add_aliases(s, cid, alias_values)
    if as_json:
        emit_json({"customer_id": cid, "attached": list(added)})
        return
    console.print(f"attached {len(added)} alias(es); {len(alias_values) - len(added)} already held")


@aliases.command("remove")
@click.argument("customer_id")
@click.argument("alias_values", metavar="ALIAS...", nargs=-1, required=True)
@json_option
@pass_app
def aliases_remove(
    app: App, customer_id: str, alias_values: tuple[str, ...], as_json: bool
) -> None:
    """Detach ingest aliases from a customer (their usage becomes pending)."""
    cid = parse_uuid(customer_id, "CUSTOMER")
    with app.session() as s:
        removed = remove_aliases(s, cid, alias_values)
    if as_json:
        emit_json({"customer_id": cid, "removed": list(removed)})
        return
    console.print(f"removed {len(removed)} alias(es)")


@aliases.command("list")
@table_options
@click.argument("customer_id", required=False)
@json_option
@pass_app
def aliases_list(app: App, customer_id: str | None, as_json: bool) -> None:
    """List ingest aliases, of one customer or all."""
    with app.session() as s:
        cid = parse_uuid(customer_id, "CUSTOMER") if customer_id else None
        if cid is not None:
            get_customer(s, cid)
        found = list_aliases(s, cid)
    views = [alias_view(a) for a in found]
    if as_json:
        emit_json(views)
        return
    shown = print_table(
        [
            Column("alias", key=True),
            Column("customer", key=True),
            Column("source", priority=3),
            Column("attached", priority=2),
        ],
        (
            (v["alias"], v["customer_id"], describe_source(v), f"{v['created_at']:%Y-%m-%d %H:%M}")
            for v in views
        ),
    )
    more_note(shown, len(found), "aliases")


@aliases.command("moves")
@table_options
@click.option("--alias", help="Only this alias's moves (a Salesforce account id in any form).")
@click.option("--customer", "customer_id", help="Only moves to or from this customer.")
@limit_option
@json_option
@pass_app
def aliases_moves(
    app: App, alias: str | None, customer_id: str | None, limit: int | None, as_json: bool
) -> None:
    """How aliases were moved or released, newest first: re-parented, detached or merged
    accounts in Salesforce, archived customers."""
    key = canonical_key(alias) if alias else None
    wanted = row_limit(limit, as_json)
    with app.session() as s:
        cid = parse_uuid(customer_id, "CUSTOMER") if customer_id else None
        if cid is not None:
            get_customer(s, cid)
        views = [
            alias_move_view(m) for m in list_moves(s, alias=key, customer_id=cid, limit=wanted)
        ]
        total = count_moves(s, alias=key, customer_id=cid)
    if as_json:
        emit_json(views)
        return
    shown = print_table(
        [
            Column("moved", priority=1),
            Column("alias", key=True, priority=0),
            Column("reason", priority=2),
            Column("from", key=True, priority=4),
            Column("to", key=True, priority=3),
            Column("account", key=True, priority=5),
        ],
        (
            (
                f"{v['moved_at']:%Y-%m-%d %H:%M}",
                v["alias"],
                v["reason"],
                v["from_customer_id"] or "-",
                v["to_customer_id"] or "released",
                v["source_account_id"] or "-",
            )
            for v in views
        ),
    )
    more_note(shown, total, "alias moves")
