"""The store commands: shapes of --json output, exit codes, one-line errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from sfsync.cli import main
from tests.cli.conftest import Invoke, ok_json
from tests.unit.factories import AWKWARD_AMOUNTS


def create(sfsync: Invoke, name: str = "WidgetsExpress", *extra: str) -> dict[str, object]:
    doc = ok_json(sfsync("customers", "create", name, "--json", *extra))
    assert isinstance(doc, dict)
    return doc


def test_customers_create_prints_the_customer_as_json(sfsync: Invoke) -> None:
    """`customers create --json` prints the new customer with aliases and fields."""
    doc = create(
        sfsync,
        "WidgetsExpress",
        "--alias",
        "we-main",
        "--alias",
        "we-eu",
        "--field",
        "sfdc_account_id=001000000000001AAA",
    )
    assert doc["name"] == "WidgetsExpress"
    assert doc["ingest_aliases"] == ["we-main", "we-eu"]
    assert doc["custom_fields"] == {"sfdc_account_id": "001000000000001AAA"}
    uuid.UUID(str(doc["id"]))


def test_customers_list_json_is_one_array(sfsync: Invoke) -> None:
    """`customers list --json` prints one JSON array of customers."""
    create(sfsync, "A")
    create(sfsync, "B")
    rows = ok_json(sfsync("customers", "list", "--json"))
    assert [r["name"] for r in rows] == ["A", "B"]
    assert set(rows[0]) >= {"id", "name", "custom_fields", "ingest_aliases", "created_at"}


def test_customers_show_by_id_alias_and_sfdc_account_id(sfsync: Invoke) -> None:
    """`customers show` finds a customer each way and includes its contracts."""
    doc = create(sfsync, "W", "--alias", "w-1", "--field", "sfdc_account_id=001W")
    ok_json(
        sfsync(
            "contracts",
            "create",
            str(doc["id"]),
            "--name",
            "Plan",
            "--starting-at",
            "2026-01-01",
            "--amount",
            "10.50",
            "--currency",
            "EUR",
            "--json",
        )
    )
    for args in ([str(doc["id"])], ["--alias", "w-1"], ["--sfdc-account-id", "001W"]):
        shown = ok_json(sfsync("customers", "show", *args, "--json"))
        assert shown["id"] == doc["id"]
        assert shown["contracts"][0]["amount"] == "10.5"
        assert shown["contracts"][0]["currency"] == "EUR"


def test_alias_conflict_is_one_line_and_exit_1(sfsync: Invoke) -> None:
    """An alias held elsewhere prints one error line naming the holder and exits 1."""
    holder = create(sfsync, "A", "--alias", "taken")
    other = create(sfsync, "B")
    result = sfsync("aliases", "add", str(other["id"]), "taken")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert str(holder["id"]) in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_an_alias_equal_to_a_customer_id_is_refused_naming_that_customer(
    sfsync: Invoke,
) -> None:
    """`aliases add ATTACKER <victim id>` is one error line naming the victim, exit 1."""
    victim = create(sfsync, "Victim")
    attacker = create(sfsync, "Attacker")
    result = sfsync("aliases", "add", str(attacker["id"]), str(victim["id"]))
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert f"is the id of customer {victim['id']}" in result.stderr


def test_not_found_exits_1(sfsync: Invoke) -> None:
    """Showing an unknown customer exits 1 with a clear line."""
    result = sfsync("customers", "show", str(uuid.uuid4()))
    assert result.exit_code == 1
    assert "no customer" in result.stderr


def test_invalid_contract_exits_1_naming_the_rule(sfsync: Invoke) -> None:
    """A contract ending before it starts is refused with exit 1."""
    doc = create(sfsync)
    result = sfsync(
        "contracts",
        "create",
        str(doc["id"]),
        "--name",
        "X",
        "--starting-at",
        "2026-02-01",
        "--ending-before",
        "2026-01-01",
    )
    assert result.exit_code == 1
    assert "must be after starting_at" in result.stderr


def test_usage_errors_exit_2(sfsync: Invoke) -> None:
    """A malformed --field or id is a usage error (exit 2)."""
    assert sfsync("customers", "create", "X", "--field", "novalue").exit_code == 2
    assert sfsync("customers", "show", "not-a-uuid").exit_code == 2
    assert sfsync("customers", "show").exit_code == 2


def test_aliases_add_remove_and_list(sfsync: Invoke) -> None:
    """Aliases can be attached, listed as JSON and removed."""
    doc = create(sfsync)
    assert sfsync("aliases", "add", str(doc["id"]), "a1", "a2").exit_code == 0
    rows = ok_json(sfsync("aliases", "list", str(doc["id"]), "--json"))
    assert sorted(r["alias"] for r in rows) == ["a1", "a2"]
    assert sfsync("aliases", "remove", str(doc["id"]), "a1").exit_code == 0
    assert [r["alias"] for r in ok_json(sfsync("aliases", "list", "--json"))] == ["a2"]


def test_fields_keys_add_key_and_set(sfsync: Invoke) -> None:
    """Custom field keys can be listed, registered and set from the command line."""
    keys = ok_json(sfsync("fields", "keys", "--json"))
    assert {"entity": "customer", "key": "sfdc_account_id", "enforce_uniqueness": True} in keys
    assert sfsync("fields", "add-key", "customer", "region").exit_code == 0
    doc = create(sfsync)
    assert sfsync("fields", "set", "customer", str(doc["id"]), "region=eu").exit_code == 0
    shown = ok_json(sfsync("customers", "show", str(doc["id"]), "--json"))
    assert shown["custom_fields"] == {"region": "eu"}
    unknown = sfsync("fields", "set", "customer", str(doc["id"]), "nope=1")
    assert unknown.exit_code == 1
    assert "fields add-key" in unknown.stderr


def test_contracts_list_json_filters_by_customer(sfsync: Invoke) -> None:
    """`contracts list --customer` shows that customer's contracts only."""
    a, b = create(sfsync, "A"), create(sfsync, "B")
    for doc in (a, b):
        sfsync("contracts", "create", str(doc["id"]), "--name", "P", "--starting-at", "2026-01-01")
    rows = ok_json(sfsync("contracts", "list", "--customer", str(a["id"]), "--json"))
    assert [r["customer_id"] for r in rows] == [a["id"]]


@pytest.mark.parametrize(("given", "plain"), AWKWARD_AMOUNTS)
def test_contract_amounts_print_in_plain_notation(sfsync: Invoke, given: str, plain: str) -> None:
    """`contracts create/list` print an amount as the same plain decimal, in JSON and tables."""
    customer = create(sfsync, "Plain")
    args = ("--name", "P", "--starting-at", "2026-01-01", "--amount", given, "--currency", "USD")
    created = ok_json(sfsync("contracts", "create", str(customer["id"]), *args, "--json"))
    (listed,) = ok_json(sfsync("contracts", "list", "--json"))
    assert created["amount"] == listed["amount"] == plain
    shown = ok_json(sfsync("customers", "show", str(customer["id"]), "--json"))
    assert shown["contracts"][0]["amount"] == plain
    table = sfsync("contracts", "list", env={"COLUMNS": "250"})
    assert f"{plain} USD" in table.stdout
    assert "E+" not in table.stdout


def test_bad_setting_exits_2_with_one_line_naming_it(tmp_path: Path) -> None:
    """A malformed setting prints one line naming the variable and exits 2."""
    result = CliRunner().invoke(
        main,
        ["customers", "list"],
        env={"SFSYNC_POLL_INTERVAL": "soon", "SFSYNC_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "SFSYNC_POLL_INTERVAL" in result.stderr
    assert "Traceback" not in result.stderr


def test_postgres_store_behind_migrations_asks_for_db_upgrade(
    postgres_url: str, tmp_path: Path
) -> None:
    """Every command on an un-migrated PostgreSQL store says to run `sfsync db upgrade`."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"sfsync_empty_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rpartition("/")[0] + f"/{name}"
    try:
        runner = CliRunner()
        result = runner.invoke(main, ["--database-url", url, "customers", "list"])
        assert result.exit_code == 2
        assert "sfsync db upgrade" in result.stderr
        upgraded = runner.invoke(main, ["--database-url", url, "db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert runner.invoke(main, ["--database-url", url, "customers", "list"]).exit_code == 0
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_fields_add_key_prints_the_registered_key_as_json(sfsync: Invoke) -> None:
    """`fields add-key --json` answers with the key it registered."""
    added = ok_json(sfsync("fields", "add-key", "contract", "po_number", "--unique", "--json"))
    assert added == {"entity": "contract", "key": "po_number", "enforce_uniqueness": True}


def test_text_no_store_can_hold_is_refused_in_one_line(sfsync: Invoke) -> None:
    """Invalid UTF-8 on the command line (a lone surrogate to Python) in an alias or a name:
    exit 1 with one line, never a traceback."""
    customer = ok_json(sfsync("customers", "create", "Acme", "--json"))
    for args in (
        ("aliases", "add", str(customer["id"]), "bad\udcff"),
        ("customers", "create", "N\udcffame"),
    ):
        result = sfsync(*args)
        assert result.exit_code == 1, result.output
        assert "without NUL or lone surrogates" in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert "Traceback" not in result.output + result.stderr
