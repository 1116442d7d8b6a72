"""Store commands: `db`, `customers`, `fields` (aliases: `commands.aliases`; contracts:
`commands.contracts`)."""

from __future__ import annotations

import click

from sfsync.commands.common import (
    App,
    console,
    emit_json,
    emit_json_array,
    json_option,
    parse_pairs,
    parse_uuid,
    pass_app,
)
from sfsync.commands.contracts import print_contracts
from sfsync.commands.epilog import examples
from sfsync.commands.output import (
    Column,
    chunks,
    limit_option,
    more_note,
    print_fields,
    print_lines,
    print_table,
    row_limit,
    table_options,
)
from sfsync.commands.views import customer_view, customers_view, describe_source
from sfsync.models import Entity, NotFound, Store
from sfsync.models.contracts.records import get_contract
from sfsync.models.customers.fields import SFDC_ACCOUNT_ID, list_keys, register_key, set_fields
from sfsync.models.customers.records import (
    count_customers,
    create_customer,
    find_customer,
    get_customer,
    iter_customers,
)
from sfsync.models.customers.retirement import archive_customer, survivor_of

__all__ = [
    "customers",
    "customers_archive",
    "customers_create",
    "customers_list",
    "customers_show",
    "db",
    "db_upgrade",
    "entity_choice",
    "fields",
    "fields_add_key",
    "fields_keys",
    "fields_set",
]

# --- db ----------------------------------------------------------------------------------


@click.group(
    epilog=examples(
        "sfsync db upgrade",
    )
)
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Apply the store's migrations (needed for PostgreSQL; SQLite migrates itself)."""
    if not app.settings.database_url:
        app.settings.ensure_data_dir()  # creating the default store here is the point
    store = Store(app.settings.store_url)
    try:
        before = store.current_revision()
        store.upgrade()
        after = store.current_revision()
    finally:
        store.close()
    console.print(f"store at revision {after} (was {before or 'empty'})", highlight=False)


# --- customers ---------------------------------------------------------------------------


@click.group(
    epilog=examples(
        "sfsync customers create WidgetsExpress --alias we-main --field sfdc_account_id=001…",
        "sfsync customers list --name widgets --limit 20",
        "sfsync customers show --sfdc-account-id 0015g00000WidgetAAA --json",
    )
)
def customers() -> None:
    """Billing customers."""


@customers.command("create")
@click.argument("name")
@click.option("--alias", "aliases", multiple=True, help="Ingest alias (repeatable).")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE", help="Custom field.")
@json_option
@pass_app
def customers_create(
    app: App, name: str, aliases: tuple[str, ...], fields: tuple[str, ...], as_json: bool
) -> None:
    """Create a customer with ingest aliases and custom fields."""
    values = parse_pairs(fields)
    with app.session() as s:
        customer = create_customer(s, name, aliases=aliases, custom_fields=values)
        view = customer_view(s, customer)
    if as_json:
        emit_json(view)
    else:
        print_lines(f"created customer {customer.id} ({customer.name})")


@customers.command("list")
@table_options
@limit_option
@click.option("--name", help="Only customers whose name contains this (any case).")
@click.option("--status", type=click.Choice(["active", "archived"]), help="Only these.")
@json_option
@pass_app
def customers_list(
    app: App, limit: int | None, name: str | None, status: str | None, as_json: bool
) -> None:
    """List customers, oldest first."""
    archived = None if status is None else status == "archived"
    wanted = row_limit(limit, as_json)
    with app.session() as s:
        found = iter_customers(s, limit=wanted, name=name, archived=archived)
        views = (v for batch in chunks(found) for v in customers_view(s, batch))
        if as_json:
            emit_json_array(views)
            return
        shown = print_table(
            [
                Column("id", key=True, priority=0),
                Column("name", priority=1),
                Column("sfdc_account_id", key=True, priority=2),
                Column("aliases", priority=3),
                Column("created", priority=4),
            ],
            (
                (
                    row["id"],
                    row["name"],
                    row["custom_fields"].get(SFDC_ACCOUNT_ID, ""),
                    len(row["ingest_aliases"]),
                    row["created_at"].strftime("%Y-%m-%d %H:%M"),
                )
                for row in views
            ),
        )
        total = count_customers(s, name=name, archived=archived)
    more_note(shown, total, "customers")


@customers.command("show")
@table_options
@click.argument("customer_id", required=False)
@click.option("--alias", help="Find the customer by an ingest alias.")
@click.option("--sfdc-account-id", help="Find the customer by its Salesforce account id.")
@json_option
@pass_app
def customers_show(
    app: App,
    customer_id: str | None,
    alias: str | None,
    sfdc_account_id: str | None,
    as_json: bool,
) -> None:
    """Show one customer, its aliases, custom fields and contracts."""
    given = [v for v in (customer_id, alias, sfdc_account_id) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of ID, --alias or --sfdc-account-id")
    with app.session() as s:
        if customer_id:
            found = find_customer(s, customer_id=parse_uuid(customer_id))
        elif alias:
            found = find_customer(s, alias=alias)
        else:
            found = find_customer(s, field=(SFDC_ACCOUNT_ID, str(sfdc_account_id)))
            if found is not None and found.merged_into is not None:
                # The account was merged away (or acquired): its customer now is the survivor.
                found = survivor_of(s, found.id)
        if found is None:
            raise NotFound(f"no customer with {given[0]!r}")
        view = customer_view(s, found, detail=True)
    if as_json:
        emit_json(view)
        return
    merged = view["merged_into"]
    print_fields(
        [
            ("name", view["name"]),
            ("id", view["id"]),
            ("status", view["status"]),
            *([("merged into", merged)] if merged is not None else []),
            *((f"custom field {key}", value) for key, value in view["custom_fields"].items()),
            ("aliases", ", ".join(view["ingest_aliases"])),
            *((f"alias {row['alias']}", describe_source(row)) for row in view["alias_sources"]),
        ]
    )
    if view["contracts"]:
        print_lines("contracts:")
        print_contracts(view["contracts"])


@customers.command("archive")
@click.argument("customer_id")
@json_option
@pass_app
def customers_archive(app: App, customer_id: str, as_json: bool) -> None:
    """Archive a customer: its aliases are released (their usage becomes pending) and it
    takes no new contracts or usage."""
    with app.session() as s:
        outcome = archive_customer(s, parse_uuid(customer_id, "ID"))
        view = customer_view(s, get_customer(s, outcome.customer_id))
    view["released_aliases"] = list(outcome.released)
    if as_json:
        emit_json(view)
    elif outcome.already:
        print_lines(f"customer {view['id']} was already archived")
    else:
        print_lines(
            f"archived customer {view['id']} ({view['name']}); released "
            f"{len(outcome.released)} alias(es)"
        )


# --- fields ------------------------------------------------------------------------------

entity_choice = click.Choice([e.value for e in Entity])


@click.group(
    epilog=examples(
        "sfsync fields add-key customer tier",
        "sfsync fields set customer CUSTOMER_ID tier=gold --json",
        "sfsync fields keys",
    )
)
def fields() -> None:
    """Custom field keys and values."""


@fields.command("keys")
@table_options
@json_option
@pass_app
def fields_keys(app: App, as_json: bool) -> None:
    """List registered custom field keys."""
    with app.session() as s:
        rows = [
            {"entity": k.entity, "key": k.key, "enforce_uniqueness": k.enforce_uniqueness}
            for k in list_keys(s)
        ]
    if as_json:
        emit_json(rows)
        return
    shown = print_table(
        [Column("entity"), Column("key", key=True), Column("unique")],
        ((r["entity"], r["key"], "yes" if r["enforce_uniqueness"] else "") for r in rows),
    )
    more_note(shown, len(rows), "custom field keys")


@fields.command("add-key")
@click.argument("entity", type=entity_choice)
@click.argument("key")
@click.option("--unique", is_flag=True, help="A value may belong to one entity only.")
@json_option
@pass_app
def fields_add_key(app: App, entity: str, key: str, unique: bool, as_json: bool) -> None:
    """Register a custom field key for customers or contracts."""
    with app.session() as s:
        registered = register_key(s, Entity(entity), key, unique=unique)
        row = {
            "entity": registered.entity,
            "key": registered.key,
            "enforce_uniqueness": registered.enforce_uniqueness,
        }
    if as_json:
        emit_json(row)
        return
    print_lines(f"registered {entity} key {key}{' (unique)' if unique else ''}")


@fields.command("set")
@click.argument("entity", type=entity_choice)
@click.argument("entity_id")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@json_option
@pass_app
def fields_set(
    app: App, entity: str, entity_id: str, pairs: tuple[str, ...], as_json: bool
) -> None:
    """Set custom field values on a customer or contract."""
    values = parse_pairs(pairs, "KEY=VALUE")
    eid = parse_uuid(entity_id)
    with app.session() as s:
        if Entity(entity) is Entity.CUSTOMER:
            get_customer(s, eid)
        else:
            get_contract(s, eid)
        set_fields(s, Entity(entity), eid, values)
    if as_json:
        emit_json({"entity": entity, "entity_id": eid, "custom_fields": values})
        return
    console.print(f"set {len(values)} field(s) on {entity} {eid}", highlight=False)
