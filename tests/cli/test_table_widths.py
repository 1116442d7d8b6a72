"""Tables fit the terminal: at 80, 100 and 200 columns every listing shows whole values only,
one line per row, no line wider than the terminal; `--wide` and `--columns` choose columns."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sfsync.models import Store
from sfsync.models.contracts.records import create_contract
from sfsync.models.contracts.terms import ContractTerms
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.deadletters import Failure, add_letter
from sfsync.models.operations.runs import RunCounters, finish_run, start_run
from sfsync.models.tables import UsageEvent
from sfsync.models.types import DeadLetterSource, RunStatus, RunTrigger, Stream
from tests.cli.conftest import Invoke

WIDTHS = [80, 100, 200]
SPAN = re.compile(r"\d+[smhd]( \d+[smhd])?")
NAMES = ["Contoso International Holdings Europe GmbH", "Acme", "Northwind Traders (APAC)"]


def terminal(width: int) -> dict[str, str]:
    return {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "0", "NO_COLOR": "1", "COLUMNS": str(width)}


def plain(text: str) -> str:
    """What the terminal shows: the text without its style sequences."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture
def customer_ids(store: Store) -> list[str]:
    """Customers with Salesforce ids and aliases, two contracts each, a run, letters, usage."""
    ids = []
    with store.session() as s:
        for n, name in enumerate(NAMES):
            account = f"0015g00000{n:06d}AAA"[:18]
            customer = create_customer(
                s,
                name,
                aliases=[f"{name.split()[0].lower()}-main", account],
                custom_fields={"sfdc_account_id": account},
            )
            ids.append(str(customer.id))
            for k in range(2):
                create_contract(
                    s,
                    customer.id,
                    ContractTerms(
                        name=f"{name.split()[0]} platform {k}",
                        starting_at=datetime(2026, 1, 1, tzinfo=UTC),
                        ending_before=datetime(2027, 1, 1, tzinfo=UTC) if k else None,
                        amount=Decimal("12000.50"),
                        currency="EUR",
                    ),
                    custom_fields={"sfdc_opportunity_id": f"0065g00000{n}{k}0000AAA"[:18]},
                )
        run = start_run(s, Stream.OPPORTUNITIES, RunTrigger.MANUAL, None)
        finish_run(s, run.id, RunStatus.SUCCEEDED, RunCounters(records_seen=6), None)
        add_letter(
            s,
            Failure(
                DeadLetterSource.OPPORTUNITY,
                "MappingError",
                "Opportunity 0065g0000099999AAA has no AccountId; set it in Salesforce",
                reference="0065g0000099999AAA",
            ),
        )
        s.add(
            UsageEvent(
                transaction_id="tx-contoso",
                customer_key="contoso-main",
                event_type="api_call",
                timestamp=datetime.now(UTC) - timedelta(hours=1),
                properties={},
            )
        )
        s.add(
            UsageEvent(
                transaction_id="tx-pending",
                customer_key="nobody-yet-" + uuid.uuid4().hex,
                event_type="api_call",
                timestamp=datetime.now(UTC) - timedelta(hours=1),
                properties={},
            )
        )
    return ids


def listings(sfsync: Invoke, customer_ids: list[str]) -> list[list[str]]:
    contract = json.loads(sfsync("contracts", "list", "--json").stdout)[0]["id"]
    return [
        ["customers", "list"],
        ["customers", "show", customer_ids[0]],
        ["contracts", "list"],
        ["contracts", "history", contract],
        ["aliases", "moves"],
        ["usage", "summary", "contoso-main", "--group-by", "alias"],
        ["aliases", "list"],
        ["runs", "list"],
        ["sync", "status"],
        ["dlq", "list"],
        ["dlq", "stats"],
        ["usage", "pending"],
        ["fields", "keys"],
    ]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│").split("│")]


def data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("│")]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_listing_fits_the_terminal_with_whole_values(
    sfsync: Invoke, customer_ids: list[str], width: int
) -> None:
    """Each row is one line no wider than the terminal, and every cell shown is a whole value
    (one of the values the same command prints, untouched, into a pipe)."""
    for args in listings(sfsync, customer_ids):
        piped = sfsync(*args)
        assert piped.exit_code == 0, (args, piped.output)
        whole = {cell.strip() for line in piped.stdout.splitlines() for cell in line.split("\t")}
        tsv_rows = [line for line in piped.stdout.splitlines() if "\t" in line]
        shown = sfsync(*args, env=terminal(width))
        assert shown.exit_code == 0, (args, shown.output)
        text = plain(shown.stdout)
        lines = text.splitlines()
        too_wide = [line for line in lines if len(line) > width]
        assert not too_wide, (args, width, too_wide)
        rows = data_lines(text)
        assert len(rows) == len(tsv_rows), (args, width, text)  # one line per row
        for row in rows:
            for cell in cells(row):
                # A span (`sync status`'s freshness) may have moved on a second since the pipe.
                assert cell in whole or SPAN.fullmatch(cell), (args, width, cell, text)
    assert customer_ids


def test_a_narrow_terminal_keeps_the_important_columns_and_says_what_it_left_out(
    sfsync: Invoke, customer_ids: list[str]
) -> None:
    """`contracts list` at 80 columns: the contract id, name and status, not three ids
    squeezing the rest to nothing; the left-out columns are named on stderr."""
    shown = sfsync("contracts", "list", env=terminal(80))
    header = next(line for line in plain(shown.stdout).splitlines() if "┃" in line)
    headers = [h.strip() for h in header.strip().strip("┃").split("┃")]
    assert headers[:2] == ["id", "name"] and "status" in headers
    assert "customer" not in headers
    assert "not shown at this width" in shown.stderr and "customer" in shown.stderr


def test_wide_and_columns_choose_what_shows(sfsync: Invoke, customer_ids: list[str]) -> None:
    """`--wide`/`-o wide` show every column at any width; `--columns` picks and orders them,
    in a pipe too; an unknown column is a one-line error naming the table's columns."""
    every = ["id", "customer", "name", "starting_at", "ending_before", "status", "amount"]
    for flag in (["--wide"], ["-o", "wide"]):
        shown = sfsync("contracts", "list", *flag, env=terminal(80))
        header = next(line for line in plain(shown.stdout).splitlines() if "┃" in line)
        assert [h.strip() for h in header.strip().strip("┃").split("┃")][:7] == every
    piped = sfsync("customers", "list", "--columns", "name,id")
    first = piped.stdout.splitlines()[0].split("\t")
    assert first[0] in NAMES and uuid.UUID(first[1])
    bad = sfsync("customers", "list", "--columns", "nope")
    assert bad.exit_code == 2 and "no column 'nope'" in bad.stderr


def test_show_commands_print_one_field_per_line(sfsync: Invoke, customer_ids: list[str]) -> None:
    """`customers show` at 120 columns: `key: value` lines, the name whole on its line, and
    the contracts' names whole in their table (not one character per line)."""
    shown = plain(sfsync("customers", "show", customer_ids[0], env=terminal(120)).stdout)
    lines = shown.splitlines()
    assert f"name: {NAMES[0]}" in lines and f"id: {customer_ids[0]}" in lines
    assert sum("Contoso platform" in line for line in lines) == 2
    assert all(len(line) <= 120 for line in lines)
