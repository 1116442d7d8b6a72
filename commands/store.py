"""Store commands: `db`, `customers`, `aliases`, `contracts`, `fields`."""

from __future__ import annotations

from decimal import Decimal

import click
from rich.table import Table

from commands.common import (
    App,
    console,
    emit_json,
    json_option,
    parse_decimal,
    parse_instant,
    parse_pairs,
    parse_uuid,
    pass_app,
)
from commands.views import (
    alias_view,
    contract_view,
    contracts_view,
    customer_view,
    customers_view,
    describe_source,
)
from config.settings import MANUAL_CONTRACT_CURRENCY
from models import Entity, NotFound, Store
from models.aliases import add_aliases, list_aliases, remove_aliases
from models.contracts import ContractSpec, create_contract, list_contracts
from models.customer_lifecycle import archive_customer, survivor_of
from models.customers import create_customer, find_customer, get_customer, list_customers
from models.fields import SFDC_ACCOUNT_ID, list_keys, register_key, set_fields
from sync.usage import account_id_key

# --- db ----------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Apply the store's migrations (needed for PostgreSQL; SQLite migrates itself)."""
    store = Store(app.settings.store_url)
    try:
        before = store.current_revision()
        store.upgrade()
        after = store.current_revision()
    finally:
        store.close()
    console.print(f"store at revision {after} (was {before or 'empty'})", highlight=False)


# --- customers ---------------------------------------------------------------------------


@click.group()
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
        console.print(f"created customer {customer.id} ({customer.name})", highlight=False)


@customers.command("list")
@click.option("--limit", default=1000, show_default=True, help="At most this many.")
@json_option
@pass_app
def customers_list(app: App, limit: int, as_json: bool) -> None:
    """List customers."""
    with app.session() as s:
        rows = customers_view(s, list_customers(s, limit=limit))
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "name", "sfdc_account_id", "aliases", "created")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["custom_fields"].get(SFDC_ACCOUNT_ID, ""),
            str(len(row["ingest_aliases"])),
            row["created_at"].strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@customers.command("show")
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
            found = find_customer(s, alias=account_id_key(alias))
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
    console.print(f"[bold]{view['name']}[/]  {view['id']}  {view['status']}", highlight=False)
    if view["merged_into"] is not None:
        console.print(f"  merged into customer {view['merged_into']}", highlight=False)
    for key, value in view["custom_fields"].items():
        console.print(f"  {key}: {value}", highlight=False)
    console.print(f"  aliases: {', '.join(view['ingest_aliases']) or '-'}", highlight=False)
    for row in view["alias_sources"]:
        console.print(f"    {row['alias']}: {describe_source(row)}", highlight=False)
    _print_contracts(view["contracts"])


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
        console.print(f"customer {view['id']} was already archived", highlight=False)
    else:
        console.print(
            f"archived customer {view['id']} ({view['name']}); released "
            f"{len(outcome.released)} alias(es)",
            highlight=False,
        )


# --- aliases -----------------------------------------------------------------------------


@click.group()
def aliases() -> None:
    """Ingest aliases (attaching one attributes its stored usage)."""


@aliases.command("add")
@click.argument("customer_id")
@click.argument("alias_values", metavar="ALIAS...", nargs=-1, required=True)
@pass_app
def aliases_add(app: App, customer_id: str, alias_values: tuple[str, ...]) -> None:
    """Attach ingest aliases to a customer."""
    with app.session() as s:
        added = add_aliases(s, parse_uuid(customer_id, "CUSTOMER"), alias_values)
    console.print(f"attached {len(added)} alias(es); {len(alias_values) - len(added)} already held")


@aliases.command("remove")
@click.argument("customer_id")
@click.argument("alias_values", metavar="ALIAS...", nargs=-1, required=True)
@pass_app
def aliases_remove(app: App, customer_id: str, alias_values: tuple[str, ...]) -> None:
    """Detach ingest aliases from a customer (their usage becomes pending)."""
    with app.session() as s:
        removed = remove_aliases(s, parse_uuid(customer_id, "CUSTOMER"), alias_values)
    console.print(f"removed {len(removed)} alias(es)")


@aliases.command("list")
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
    table = Table("alias", "customer", "source", "attached")
    for v in views:
        table.add_row(
            v["alias"],
            str(v["customer_id"]),
            describe_source(v),
            f"{v['created_at']:%Y-%m-%d %H:%M}",
        )
    console.print(table)


# --- contracts ---------------------------------------------------------------------------


@click.group()
def contracts() -> None:
    """Contracts (one per closed-won opportunity)."""


@contracts.command("create")
@click.argument("customer_id")
@click.option("--name", required=True, help="Contract name.")
@click.option("--starting-at", required=True, help="Start (inclusive), ISO date or datetime.")
@click.option("--ending-before", help="End (exclusive); open-ended if omitted.")
@click.option("--amount", help="Contract amount (decimal).")
@click.option("--currency", help="ISO 4217 code; default SFSYNC_DEFAULT_CURRENCY.")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE", help="Custom field.")
@json_option
@pass_app
def contracts_create(
    app: App,
    customer_id: str,
    name: str,
    starting_at: str,
    ending_before: str | None,
    amount: str | None,
    currency: str | None,
    fields: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a contract for a customer."""
    money: Decimal | None = parse_decimal(amount, "--amount") if amount is not None else None
    spec = ContractSpec(
        name=name,
        starting_at=parse_instant(starting_at, "--starting-at"),
        ending_before=parse_instant(ending_before, "--ending-before") if ending_before else None,
        amount=money,
        currency=currency or app.settings.default_currency or MANUAL_CONTRACT_CURRENCY,
    )
    values = parse_pairs(fields)
    with app.session() as s:
        contract = create_contract(
            s, parse_uuid(customer_id, "CUSTOMER"), spec, custom_fields=values
        )
        view = contract_view(contract, values)
    if as_json:
        emit_json(view)
    else:
        console.print(f"created contract {contract.id} ({contract.name})", highlight=False)


@contracts.command("list")
@click.option("--customer", "customer_id", help="Only this customer's contracts.")
@json_option
@pass_app
def contracts_list(app: App, customer_id: str | None, as_json: bool) -> None:
    """List contracts."""
    with app.session() as s:
        cid = parse_uuid(customer_id, "--customer") if customer_id else None
        rows = contracts_view(s, list_contracts(s, cid))
    if as_json:
        emit_json(rows)
    else:
        _print_contracts(rows)


def _print_contracts(rows: list[dict[str, object]]) -> None:
    table = Table("id", "customer", "name", "starting_at", "ending_before", "amount", "opportunity")
    for row in rows:
        fields = row["custom_fields"]
        assert isinstance(fields, dict)
        table.add_row(
            str(row["id"]),
            str(row["customer_id"]),
            str(row["name"]),
            row["starting_at"].date().isoformat(),  # type: ignore[attr-defined]
            row["ending_before"].date().isoformat() if row["ending_before"] else "open",  # type: ignore[attr-defined]
            f"{row['amount']} {row['currency']}" if row["amount"] is not None else "-",
            fields.get("sfdc_opportunity_id", ""),
        )
    console.print(table)


# --- fields ------------------------------------------------------------------------------

entity_choice = click.Choice([e.value for e in Entity])


@click.group()
def fields() -> None:
    """Custom field keys and values."""


@fields.command("keys")
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
    table = Table("entity", "key", "unique")
    for row in rows:
        table.add_row(
            str(row["entity"]), str(row["key"]), "yes" if row["enforce_uniqueness"] else ""
        )
    console.print(table)


@fields.command("add-key")
@click.argument("entity", type=entity_choice)
@click.argument("key")
@click.option("--unique", is_flag=True, help="A value may belong to one entity only.")
@pass_app
def fields_add_key(app: App, entity: str, key: str, unique: bool) -> None:
    """Register a custom field key for customers or contracts."""
    with app.session() as s:
        register_key(s, Entity(entity), key, unique=unique)
    console.print(f"registered {entity} key {key}{' (unique)' if unique else ''}", highlight=False)


@fields.command("set")
@click.argument("entity", type=entity_choice)
@click.argument("entity_id")
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@pass_app
def fields_set(app: App, entity: str, entity_id: str, pairs: tuple[str, ...]) -> None:
    """Set custom field values on a customer or contract."""
    values = parse_pairs(pairs, "KEY=VALUE")
    eid = parse_uuid(entity_id)
    with app.session() as s:
        if Entity(entity) is Entity.CUSTOMER:
            get_customer(s, eid)
        else:
            from models.contracts import get_contract

            get_contract(s, eid)
        set_fields(s, Entity(entity), eid, values)
    console.print(f"set {len(values)} field(s) on {entity} {eid}", highlight=False)
