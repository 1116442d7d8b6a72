"""Contract commands: `contracts create / list / show / history`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import click

from sfsync.commands.common import (
    App,
    emit_json,
    emit_json_array,
    json_option,
    parse_decimal,
    parse_instant,
    parse_pairs,
    parse_uuid,
    pass_app,
)
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
from sfsync.commands.views import contract_view, contracts_view, revision_view
from sfsync.config.values import MANUAL_CONTRACT_CURRENCY
from sfsync.models.contracts.records import (
    count_contracts,
    create_contract,
    get_contract,
    iter_contracts,
)
from sfsync.models.contracts.revisions import history
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.types import ContractStatus

__all__ = ["contracts", "print_contracts"]


@click.group(
    epilog=examples(
        "sfsync contracts create CUSTOMER_ID --name Plan --starting-at 2026-01-01 --amount 20630",
        "sfsync contracts list --customer CUSTOMER_ID --status active",
        "sfsync contracts list --json > contracts.json    # every row",
        "sfsync contracts history CONTRACT_ID",
    )
)
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
    terms = ContractTerms(
        name=name,
        starting_at=parse_instant(starting_at, "--starting-at"),
        ending_before=parse_instant(ending_before, "--ending-before") if ending_before else None,
        amount=money,
        currency=currency or app.settings.default_currency or MANUAL_CONTRACT_CURRENCY,
    )
    values = parse_pairs(fields)
    with app.session() as s:
        contract = create_contract(
            s, parse_uuid(customer_id, "CUSTOMER"), terms, custom_fields=values
        )
        view = contract_view(contract, values)
    if as_json:
        emit_json(view)
    else:
        print_lines(f"created contract {contract.id} ({contract.name})")


@contracts.command("list")
@table_options
@click.option("--customer", "customer_id", help="Only this customer's contracts.")
@click.option("--status", type=click.Choice([c.value for c in ContractStatus]), help="Only these.")
@click.option("--name", help="Only contracts whose name contains this (any case).")
@limit_option
@json_option
@pass_app
def contracts_list(
    app: App,
    customer_id: str | None,
    status: str | None,
    name: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List contracts by start date, with their status (active, ended, archived) and period."""
    cid = parse_uuid(customer_id, "--customer") if customer_id else None
    wanted = ContractStatus(status) if status else None
    with app.session() as s:
        found = iter_contracts(s, cid, status=wanted, name=name, limit=row_limit(limit, as_json))
        views = (v for batch in chunks(found) for v in contracts_view(s, batch))
        if as_json:
            emit_json_array(views)
            return
        shown = print_contracts(views)
        total = count_contracts(s, cid, status=wanted, name=name)
    more_note(shown, total, "contracts")


def print_contracts(rows: Iterable[dict[str, Any]]) -> int:
    return print_table(
        [
            Column("id", key=True, priority=0),
            Column("customer", key=True, priority=7),
            Column("name", priority=1),
            Column("starting_at", priority=3),
            Column("ending_before", priority=5),
            Column("status", priority=2),
            Column("amount", priority=4),
            Column("opportunity", key=True, priority=6),
        ],
        _contract_rows(rows),
    )


def _contract_rows(rows: Iterable[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (
            row["id"],
            row["customer_id"],
            row["name"],
            row["starting_at"].date().isoformat(),
            row["ending_before"].isoformat(timespec="seconds") if row["ending_before"] else "open",
            row["status"].value,
            f"{row['amount']} {row['currency']}" if row["amount"] is not None else "-",
            row["custom_fields"].get("sfdc_opportunity_id", ""),
        )


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
    print_fields(
        [
            ("id", view["id"]),
            ("customer", view["customer_id"]),
            ("name", view["name"]),
            ("status", view["status"]),
            ("starting_at", view["starting_at"].isoformat(timespec="seconds")),
            (
                "ending_before",
                view["ending_before"].isoformat(timespec="seconds")
                if view["ending_before"]
                else "open",
            ),
            (
                "amount",
                f"{view['amount']} {view['currency']}" if view["amount"] is not None else None,
            ),
            *((f"custom field {k}", v) for k, v in view["custom_fields"].items()),
        ]
    )


@contracts.command("history")
@table_options
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
    print_table(
        [
            Column("at", priority=0),
            Column("kind", priority=1),
            Column("changed", priority=2),
            Column("cause", priority=3),
            Column("sf modstamp", priority=5),
            Column("run", key=True, priority=4),
        ],
        (
            (
                row["at"].isoformat(timespec="seconds"),
                row["kind"].value,
                _difference(row["before"], row["after"]),
                row["cause"],
                row["source_version"].isoformat(timespec="seconds")
                if row["source_version"]
                else "-",
                row["run_id"] if row["run_id"] is not None else "-",
            )
            for row in rows
        ),
    )


def _difference(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    if before is None:
        return ", ".join(f"{k}={v}" for k, v in after.items() if k != "customer_id")
    return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items() if before.get(k) != v)
