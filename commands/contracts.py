"""Contract commands: `contracts create / list / show / history`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
from commands.views import contract_view, contracts_view, revision_view
from models.contracts import ContractSpec, create_contract, get_contract, list_contracts
from models.revisions import history

__all__ = ["contracts", "print_contracts"]


@click.group()
def contracts() -> None:
    """Contracts (one per closed-won opportunity), their lifecycle and history."""


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
        currency=currency or app.settings.default_currency,
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
    """List contracts with their status (active, ended, archived) and period."""
    with app.session() as s:
        cid = parse_uuid(customer_id, "--customer") if customer_id else None
        rows = contracts_view(s, list_contracts(s, cid))
    if as_json:
        emit_json(rows)
    else:
        print_contracts(rows)


@contracts.command("show")
@click.argument("contract_id")
@json_option
@pass_app
def contracts_show(app: App, contract_id: str, as_json: bool) -> None:
    """One contract: status, period, terms, custom fields."""
    with app.session() as s:
        (view,) = contracts_view(s, [get_contract(s, parse_uuid(contract_id))])
    if as_json:
        emit_json(view)
        return
    print_contracts([view])


@contracts.command("history")
@click.argument("contract_id")
@json_option
@pass_app
def contracts_history(app: App, contract_id: str, as_json: bool) -> None:
    """Every change made to a contract: kind, terms before and after, cause, run."""
    with app.session() as s:
        contract = get_contract(s, parse_uuid(contract_id))
        rows = [revision_view(r) for r in history(s, contract.id)]
    if as_json:
        emit_json(rows)
        return
    table = Table("at", "kind", "changed", "cause", "sf modstamp", "run")
    for row in rows:
        table.add_row(
            row["at"].isoformat(timespec="seconds"),
            row["kind"].value,
            _difference(row["before"], row["after"]),
            row["cause"],
            row["sf_modstamp"].isoformat(timespec="seconds") if row["sf_modstamp"] else "-",
            str(row["run_id"]) if row["run_id"] is not None else "-",
        )
    console.print(table)


def _difference(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    if before is None:
        return ", ".join(f"{k}={v}" for k, v in after.items() if k != "customer_id")
    return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items() if before.get(k) != v)


def print_contracts(rows: list[dict[str, Any]]) -> None:
    table = Table(
        "id",
        "customer",
        "name",
        "status",
        "starting_at",
        "ending_before",
        "amount",
        "opportunity",
    )
    for row in rows:
        fields = row["custom_fields"]
        table.add_row(
            str(row["id"]),
            str(row["customer_id"]),
            str(row["name"]),
            row["status"].value,
            row["starting_at"].date().isoformat(),
            row["ending_before"].isoformat(timespec="seconds") if row["ending_before"] else "open",
            f"{row['amount']} {row['currency']}" if row["amount"] is not None else "-",
            fields.get("sfdc_opportunity_id", ""),
        )
    console.print(table)
