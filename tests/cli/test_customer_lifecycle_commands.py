"""`customers archive`, `customers show` of merged customers, and aliases with their source."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

from sfsync.models import Store
from sfsync.models.aliases.lookups import AliasOrigin
from sfsync.models.aliases.ownership import add_aliases
from sfsync.models.customers.retirement import merge_customers
from sfsync.models.types import utcnow
from tests.cli.conftest import Invoke, ok_json

ACCOUNT = "001000000000001AAA"
CHILD = "001000000000002AAA"


def create(sfsync: Invoke, name: str, *extra: str) -> str:
    doc = ok_json(sfsync("customers", "create", name, "--json", *extra))
    return str(doc["id"])


def usage(sfsync: Invoke, tmp_path: Path, key: str, transaction_id: str) -> None:
    path = tmp_path / f"{transaction_id}.jsonl"
    event = {
        "transaction_id": transaction_id,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": (utcnow() - timedelta(minutes=5)).isoformat(),
    }
    path.write_text(json.dumps(event) + "\n")
    ok_json(sfsync("usage", "ingest", str(path), "--json"))


def attributed_to(sfsync: Invoke, transaction_id: str) -> str | None:
    doc = ok_json(sfsync("usage", "show", transaction_id, "--json"))
    return None if doc["customer_id"] is None else str(doc["customer_id"])


def test_aliases_list_json_shows_each_aliases_source(sfsync: Invoke, store_url: str) -> None:
    """A Salesforce-sourced alias names its account and field; a manual one says manual."""
    customer = create(
        sfsync, "Acme", "--alias", "acme-ops", "--field", f"sfdc_account_id={ACCOUNT}"
    )
    store = Store(store_url)
    with store.session() as s:
        add_aliases(s, uuid.UUID(customer), [CHILD], {CHILD: AliasOrigin(CHILD, "Id")})
    store.close()
    rows = {r["alias"]: r for r in ok_json(sfsync("aliases", "list", "--json"))}
    assert (rows["acme-ops"]["source"], rows["acme-ops"]["source_account_id"]) == ("manual", None)
    assert (
        rows[CHILD]["source"],
        rows[CHILD]["source_account_id"],
        rows[CHILD]["source_field"],
    ) == (
        "salesforce",
        CHILD,
        "Id",
    )
    shown = ok_json(sfsync("customers", "show", customer, "--json"))
    assert {(a["alias"], a["source"]) for a in shown["alias_sources"]} == {
        ("acme-ops", "manual"),
        (CHILD, "salesforce"),
    }
    table = sfsync("aliases", "list").stdout
    assert "salesforce" in table and "manual" in table


def test_customers_archive_releases_aliases_and_takes_no_new_work(
    sfsync: Invoke, tmp_path: Path
) -> None:
    """Archived: aliases released (usage pending), no new usage, aliases or contracts."""
    customer = create(sfsync, "Gone Co", "--alias", "gone-1", "--alias", "gone-2")
    usage(sfsync, tmp_path, "gone-1", "tx-1")
    assert attributed_to(sfsync, "tx-1") == customer

    doc = ok_json(sfsync("customers", "archive", customer, "--json"))
    assert (doc["status"], sorted(doc["released_aliases"])) == ("archived", ["gone-1", "gone-2"])
    assert doc["archived_at"] is not None
    assert attributed_to(sfsync, "tx-1") is None  # pending again
    usage(sfsync, tmp_path, customer, "tx-2")  # keyed on the archived customer's id
    assert attributed_to(sfsync, "tx-2") is None
    refused = sfsync("aliases", "add", customer, "gone-3")
    assert refused.exit_code == 1 and "archived" in refused.stderr
    refused = sfsync(
        "contracts", "create", customer, "--name", "Plan", "--starting-at", "2026-01-01"
    )
    assert refused.exit_code == 1 and "archived" in refused.stderr
    again = ok_json(sfsync("customers", "archive", customer, "--json"))
    assert again["released_aliases"] == []


def test_customers_show_of_a_merged_account_finds_the_survivor(
    sfsync: Invoke, store_url: str
) -> None:
    """By the loser's account id: the survivor; by its own id: archived, merged into it."""
    survivor = create(sfsync, "Survivor", "--field", f"sfdc_account_id={ACCOUNT}")
    absorbed = create(sfsync, "Absorbed", "--field", f"sfdc_account_id={CHILD}")
    store = Store(store_url)
    with store.session() as s:
        merge_customers(s, uuid.UUID(absorbed), uuid.UUID(survivor))
    store.close()
    found = ok_json(sfsync("customers", "show", "--sfdc-account-id", CHILD, "--json"))
    assert found["id"] == survivor
    own = ok_json(sfsync("customers", "show", absorbed, "--json"))
    assert (own["status"], own["merged_into"]) == ("archived", survivor)
    text = sfsync("customers", "show", absorbed).stdout
    assert f"merged into: {survivor}" in text.splitlines()


def test_aliases_moves_lists_merges_and_releases_newest_first(
    sfsync: Invoke, store_url: str
) -> None:
    """A merge's move and an archive's release, newest first, by alias and by customer."""
    survivor = create(sfsync, "Survivor", "--alias", "survivor-ops")
    absorbed = create(sfsync, "Absorbed")
    store = Store(store_url)
    with store.session() as s:
        add_aliases(s, uuid.UUID(absorbed), [CHILD], {CHILD: AliasOrigin(CHILD, "Id")})
    with store.session() as s:
        merge_customers(s, uuid.UUID(absorbed), uuid.UUID(survivor))
    store.close()
    ok_json(sfsync("customers", "archive", survivor, "--json"))

    moves = ok_json(sfsync("aliases", "moves", "--alias", CHILD, "--json"))
    assert [
        (m["reason"], m["from_customer_id"], m["to_customer_id"], m["source_account_id"])
        for m in moves
    ] == [("archived", survivor, None, None), ("merged", absorbed, survivor, CHILD)]
    everything = ok_json(sfsync("aliases", "moves", "--json"))
    assert {(m["alias"], m["reason"]) for m in everything} == {
        (CHILD, "merged"),
        (CHILD, "archived"),
        ("survivor-ops", "archived"),
    }
    of_absorbed = ok_json(sfsync("aliases", "moves", "--customer", absorbed, "--json"))
    assert [(m["alias"], m["reason"]) for m in of_absorbed] == [(CHILD, "merged")]

    table = sfsync("aliases", "moves", "--alias", CHILD, "--limit", "1")
    assert table.exit_code == 0
    assert "released" in table.stdout and "merged" not in table.stdout
    assert "1 more alias moves not shown (of 2)" in table.stderr + table.stdout
    unknown = sfsync("aliases", "moves", "--customer", str(uuid.uuid4()))
    assert unknown.exit_code != 0 and "Traceback" not in unknown.stdout + unknown.stderr
