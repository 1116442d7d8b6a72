"""What commands print: data shown literally, ids whole, lists limited, scripts served."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from sfsync.models import Store
from sfsync.models.customers.records import create_customer
from sfsync.models.operations.deadletters import Failure, add_letter
from sfsync.models.tables import SyncCursor, SyncRun
from sfsync.models.types import DeadLetterSource, RunStatus, RunTrigger, Stream
from tests.cli.conftest import Invoke, ok_json

HOSTILE = "[/bold] x [link=https://evil.example]click[/link] \x1b[2J\x07end"
TERMINAL = {"FORCE_COLOR": "1", "COLUMNS": "80", "TTY_COMPATIBLE": "1"}
WIDE = {**TERMINAL, "COLUMNS": "300"}  # wide enough that no hostile cell is folded
RECENT = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def assert_literal(text: str) -> None:
    """The hostile value is there as text: markup kept, no escape sequence of its own."""
    assert "[/bold]" in text
    assert "[link=https://evil.example]" in text
    assert "\\x1b[2J" in text
    assert "\x1b[2J" not in text
    assert "\x1b]8;" not in text  # no hyperlink
    assert "\x07" not in text


@pytest.fixture
def hostile(store: Store, sfsync: Invoke, tmp_path: Path) -> dict[str, str]:
    """A customer, a pending key, an event and a dead letter made of hostile text."""
    with store.session() as s:
        customer = create_customer(s, HOSTILE, aliases=[f"alias {HOSTILE}"])
        letter = add_letter(
            s,
            Failure(
                source=DeadLetterSource.USAGE_EVENT,
                reference=HOSTILE,
                error_class="InvalidEvent",
                error_message=f"bad {HOSTILE}",
                payload={"name": HOSTILE},
            ),
        )
    event = {
        "transaction_id": HOSTILE,
        "customer_id": HOSTILE,
        "event_type": "api_call",
        "timestamp": RECENT,
        "properties": {HOSTILE: 1},
    }
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event) + "\n")
    assert ok_json(sfsync("usage", "ingest", str(path), "--json"))["accepted"] == 1
    return {"customer": str(customer.id), "letter": str(letter.id)}


@pytest.mark.parametrize("env", [WIDE, {}], ids=["terminal", "pipe"])
def test_data_values_are_printed_literally(
    sfsync: Invoke, hostile: dict[str, str], env: dict[str, str]
) -> None:
    """Markup and control characters from data neither crash, style, link nor clear."""
    for args in (
        ["customers", "list"],
        ["customers", "show", hostile["customer"]],
        ["usage", "pending"],
        ["usage", "show", HOSTILE],
        ["dlq", "list"],
        ["dlq", "show", hostile["letter"]],
    ):
        assert_literal(shown(sfsync(*args, env=env)))


def test_created_names_are_printed_literally(sfsync: Invoke) -> None:
    """`customers create` and `contracts create` echo a hostile name as text."""
    made = sfsync("customers", "create", HOSTILE, env=WIDE)
    assert_literal(shown(made))
    customer = shown(made).split()[2]
    contract = sfsync(
        "contracts", "create", customer, "--name", HOSTILE, "--starting-at", "2026-01-01", env=WIDE
    )
    assert_literal(shown(contract))


def test_errors_naming_data_are_printed_literally(sfsync: Invoke, hostile: dict[str, str]) -> None:
    """An error message quoting a hostile value is one literal line."""
    result = sfsync("customers", "show", "--alias", HOSTILE, env=TERMINAL)
    assert result.exit_code == 1
    assert "[/bold]" in result.stderr and "\x1b[2J" not in result.stderr


def test_ids_are_whole_on_a_narrow_terminal(sfsync: Invoke, store: Store) -> None:
    """At 80 columns every id, account id and reference is printed in full."""
    account = "001000000000001AAA"
    with store.session() as s:
        customer = create_customer(
            s, "A rather long customer name " * 4, custom_fields={"sfdc_account_id": account}
        )
    out = shown(sfsync("customers", "list", env=TERMINAL))
    assert str(customer.id) in out
    assert account in out


def test_pipes_get_tab_separated_rows(sfsync: Invoke, store: Store) -> None:
    """Not a terminal: one tab-separated line per row, no header, no box drawing."""
    with store.session() as s:
        a = create_customer(s, "Alpha", custom_fields={"sfdc_account_id": "001A"})
        b = create_customer(s, "Beta")
    lines = shown(sfsync("customers", "list")).splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        [str(a.id), "Alpha", "001A"],
        [str(b.id), "Beta", ""],
    ]


def test_tables_are_limited_and_say_how_many_more(sfsync: Invoke, store: Store) -> None:
    """A table shows 50 rows by default and says how many more there are and how to see them."""
    with store.session() as s:
        for n in range(53):
            create_customer(s, f"c{n:02d}")
    result = sfsync("customers", "list")
    assert len(shown(result).splitlines()) == 50
    assert "3 more customers" in result.stderr and "--limit 53" in result.stderr
    limited = sfsync("customers", "list", "--limit", "5")
    assert len(shown(limited).splitlines()) == 5
    assert "48 more" in limited.stderr


def test_json_lists_every_row_unless_limited(sfsync: Invoke, store: Store) -> None:
    """`--json` is never silently truncated; with `--limit` it prints that many."""
    with store.session() as s:
        for n in range(55):
            create_customer(s, f"c{n:02d}", aliases=[f"k{n}"])
    rows = ok_json(sfsync("customers", "list", "--json"))
    assert len(rows) == 55 and rows[54]["ingest_aliases"] == ["k54"]
    assert len(ok_json(sfsync("customers", "list", "--json", "--limit", "7"))) == 7


def test_empty_lists_say_so(sfsync: Invoke) -> None:
    """An empty table says it is empty (on stderr, so stdout stays data)."""
    for args, what in (
        (["customers", "list"], "no customers"),
        (["contracts", "list"], "no contracts"),
        (["dlq", "list"], "no open dead letters"),
        (["runs", "list"], "no sync runs"),
        (["usage", "pending"], "no pending usage"),
    ):
        result = sfsync(*args)
        assert result.exit_code == 0 and result.stdout == "", (args, result.stdout)
        assert what in result.stderr, (args, result.stderr)


def test_customer_and_contract_filters(sfsync: Invoke, store: Store) -> None:
    """`--name`, `--status` and `--customer` narrow the lists."""
    with store.session() as s:
        acme = create_customer(s, "Acme Corp")
        create_customer(s, "Globex")
    names = [r["name"] for r in ok_json(sfsync("customers", "list", "--name", "acme", "--json"))]
    assert names == ["Acme Corp"]
    assert ok_json(sfsync("customers", "list", "--status", "archived", "--json")) == []
    for name in ("Plan A", "Plan B"):
        ok_json(
            sfsync(
                "contracts",
                "create",
                str(acme.id),
                "--name",
                name,
                "--starting-at",
                "2026-01-01",
                "--json",
            )
        )
    picked = ok_json(
        sfsync("contracts", "list", "--customer", str(acme.id), "--name", "b", "--json")
    )
    assert [c["name"] for c in picked] == ["Plan B"]
    assert ok_json(sfsync("contracts", "list", "--status", "archived", "--json")) == []
    assert len(ok_json(sfsync("contracts", "list", "--status", "active", "--json"))) == 2


def test_changing_commands_print_json(sfsync: Invoke, store: Store) -> None:
    """`aliases add/remove`, `fields set` and `dlq discard` take `--json`."""
    with store.session() as s:
        customer = create_customer(s, "W")
        letter = add_letter(
            s, Failure(source=DeadLetterSource.TASK, error_class="E", error_message="m")
        )
    cid = str(customer.id)
    assert ok_json(sfsync("aliases", "add", cid, "a1", "a2", "--json")) == {
        "customer_id": cid,
        "attached": ["a1", "a2"],
    }
    assert ok_json(sfsync("aliases", "remove", cid, "a1", "--json")) == {
        "customer_id": cid,
        "removed": ["a1"],
    }
    assert sfsync("fields", "add-key", "customer", "tier").exit_code == 0
    assert ok_json(sfsync("fields", "set", "customer", cid, "tier=gold", "--json")) == {
        "entity": "customer",
        "entity_id": cid,
        "custom_fields": {"tier": "gold"},
    }
    assert ok_json(sfsync("dlq", "discard", str(letter.id), "--reason", "test", "--json")) == {
        "discarded": [letter.id],
        "reason": "test",
    }
    uuid.UUID(cid)


def test_sync_status_shows_freshness_not_the_cursors_age_after_a_quiet_period(
    sfsync: Invoke, store: Store
) -> None:
    """Nothing changed in Salesforce for five days (the cursor's age), and the last successful
    run began 58,560 s ago: freshness reads `16h 16m`, no backlog, and no `5d` anywhere."""
    now = datetime.now(UTC)
    with store.session() as s:
        s.add(SyncCursor(stream=Stream.OPPORTUNITIES, position=now - timedelta(days=5)))
        s.add(
            SyncRun(
                stream=Stream.OPPORTUNITIES,
                trigger=RunTrigger.BEAT,
                status=RunStatus.SUCCEEDED,
                started_at=now - timedelta(seconds=58_560),
                finished_at=now - timedelta(seconds=58_500),
            )
        )
    out = shown(sfsync("sync", "status"))
    assert "16h 16m" in out and "58560" not in out
    assert "5d" not in out and "lag" not in out
    doc = ok_json(sfsync("sync", "status", "--json"))
    (row,) = [r for r in doc["streams"] if r["stream"] == "opportunities"]
    assert 58_560 <= row["freshness_seconds"] < 58_560 + 60
    assert row["backlog_seconds"] is None and "lag_seconds" not in row


@pytest.mark.parametrize(
    "group",
    [
        [],
        ["customers"],
        ["contracts"],
        ["sync"],
        ["dlq"],
        ["usage"],
        ["api-keys"],
        ["serve"],
        ["sandbox"],
    ],
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_shows_examples(sfsync: Invoke, group: list[str], flag: str) -> None:
    """`--help` and `-h` of the command and its groups end with example command lines."""
    result = sfsync(*group, flag)
    assert result.exit_code == 0, result.output
    out = shown(result)
    assert "Examples:" in out and "$ sfsync " in out
