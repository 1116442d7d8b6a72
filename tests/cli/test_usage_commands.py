"""The usage commands: --json shapes, exit codes, streaming input forms."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sfsync.models import Store
from sfsync.models.contracts.records import end_contract
from sfsync.models.contracts.revisions import Change
from sfsync.models.tables import Contract
from sfsync.models.types import ContractStatus
from tests.cli.conftest import Invoke, ok_json

RECENT = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ev(tx: str, key: str = "eu-org", **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": RECENT,
        "properties": {"gb": "1.5", "region": "eu"},
        **extra,
    }


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_ingest_json_lines_prints_counts_and_dead_letters_bad_lines(
    sfsync: Invoke, tmp_path: Path
) -> None:
    """JSON Lines: good, duplicate and unparsable lines are all counted; --json is the counts."""
    lines = [json.dumps(ev("t1")), json.dumps(ev("t1")), "{not json", "", json.dumps(ev("t2"))]
    doc = ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))
    assert doc == {"accepted": 2, "duplicate": 1, "rejected": 1}


def test_ingest_reads_a_json_array_larger_than_one_batch(sfsync: Invoke, tmp_path: Path) -> None:
    """A JSON array is streamed in batches of 1,000."""
    path = tmp_path / "u.json"
    path.write_text(json.dumps([ev(f"a{i}") for i in range(2500)], indent=1))
    assert ok_json(sfsync("usage", "ingest", str(path), "--json"))["accepted"] == 2500


def test_ingest_reads_stdin(sfsync: Invoke) -> None:
    """`-` reads the events from standard input."""
    doc = ok_json(sfsync("usage", "ingest", "-", "--json", input=json.dumps(ev("s1")) + "\n"))
    assert doc == {"accepted": 1, "duplicate": 0, "rejected": 0}


def test_broken_json_array_fails_with_one_line(sfsync: Invoke, tmp_path: Path) -> None:
    """A JSON array that cannot be parsed exits 1 with a one-line error."""
    path = tmp_path / "bad.json"
    path.write_text('[{"transaction_id": "x"}, {oops]')
    result = sfsync("usage", "ingest", str(path), "--json")
    assert result.exit_code == 1
    assert "invalid JSON array" in result.stderr


def test_summary_pending_and_show(sfsync: Invoke, tmp_path: Path) -> None:
    """summary groups per alias with sums; pending lists unheld keys; show prints one event."""
    customer = ok_json(
        sfsync("customers", "create", "Acme", "--alias", "eu-org", "--alias", "us-org", "--json")
    )
    lines = [json.dumps(ev("t1")), json.dumps(ev("t2", "us-org")), json.dumps(ev("t3", "nobody"))]
    ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))

    summary = ok_json(
        sfsync(
            "usage", "summary", "eu-org", "--group-by", "alias", "--sum", "property:gb", "--json"
        )
    )
    assert summary["customer_id"] == customer["id"]
    assert summary["group_by"] == ["alias"]
    assert summary["groups"] == [
        {"key": {"alias": "eu-org"}, "events": 1, "sums": {"gb": "1.5"}},
        {"key": {"alias": "us-org"}, "events": 1, "sums": {"gb": "1.5"}},
    ]
    assert summary["total"] == {"events": 2, "sums": {"gb": "3.0"}}

    pending = ok_json(sfsync("usage", "pending", "--json"))
    assert [(p["customer_key"], p["events"]) for p in pending] == [("nobody", 1)]
    assert {"first_seen", "last_seen"} <= set(pending[0])

    shown = ok_json(sfsync("usage", "show", "t3", "--json"))
    assert (shown["status"], shown["customer_id"], shown["customer_key"]) == (
        "pending",
        None,
        "nobody",
    )


def test_summary_limited_to_a_contract_period(sfsync: Invoke, tmp_path: Path) -> None:
    """--contract counts only events inside [starting_at, ending_before)."""
    customer = ok_json(sfsync("customers", "create", "Acme", "--alias", "eu-org", "--json"))
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    contract = ok_json(
        sfsync(
            "contracts",
            "create",
            str(customer["id"]),
            "--name",
            "Plan",
            "--starting-at",
            yesterday,
            "--json",
        )
    )
    old = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [json.dumps(ev("in")), json.dumps(ev("before", timestamp=old))]
    ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))
    doc = ok_json(sfsync("usage", "summary", "eu-org", "--contract", contract["id"], "--json"))
    assert doc["total"]["events"] == 1


def test_show_unknown_and_rejected_events_exit_1(sfsync: Invoke, tmp_path: Path) -> None:
    """show of an unknown id exits 1; of a rejected one it also says why it was rejected."""
    assert sfsync("usage", "show", "nope").exit_code == 1
    lines = [json.dumps(ev("late", timestamp="2020-01-01T00:00:00Z"))]
    ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))
    result = sfsync("usage", "show", "late")
    assert result.exit_code == 1
    assert "rejected" in result.stderr and "days old" in result.stderr


def test_bad_group_by_is_a_usage_error(sfsync: Invoke) -> None:
    """An unknown grouping exits 2."""
    result = sfsync("usage", "summary", "someone", "--group-by", "colour")
    assert result.exit_code == 2


def test_summary_by_contract_follows_its_lifecycle(
    sfsync: Invoke, tmp_path: Path, store_url: str
) -> None:
    """An ended contract counts usage up to its end only; an archived one counts none."""
    customer = ok_json(sfsync("customers", "create", "Acme", "--alias", "eu-org", "--json"))
    now = datetime.now(UTC)
    contract = ok_json(
        sfsync(
            "contracts", "create", str(customer["id"]), "--name", "Plan",
            "--starting-at", (now - timedelta(days=3)).isoformat(), "--json",
        )
    )  # fmt: skip
    two_days_ago = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [json.dumps(ev("inside", timestamp=two_days_ago)), json.dumps(ev("after-end"))]
    ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))
    summary = ("usage", "summary", "eu-org", "--contract", contract["id"], "--json")
    assert ok_json(sfsync(*summary))["total"]["events"] == 2

    store = Store(store_url)
    try:
        with store.session() as s:
            ended_at = now - timedelta(days=1)
            end_contract(s, uuid.UUID(contract["id"]), ended_at, Change("test", ended_at))
        assert ok_json(sfsync(*summary))["total"]["events"] == 1
        with store.session() as s:
            s.get_one(Contract, uuid.UUID(contract["id"])).status = ContractStatus.ARCHIVED
        assert ok_json(sfsync(*summary))["total"]["events"] == 0
    finally:
        store.close()


def test_ingest_of_an_unstorable_transaction_id_dead_letters_it_and_stores_the_rest(
    sfsync: Invoke, tmp_path: Path, store_url: str
) -> None:
    """A lone surrogate in one event's transaction_id: one rejected, the others stored."""
    lines = [json.dumps(ev("u1")), json.dumps(ev("bad\ud800")), json.dumps(ev("u2"))]
    doc = ok_json(sfsync("usage", "ingest", write_lines(tmp_path / "u.jsonl", lines), "--json"))
    assert doc == {"accepted": 2, "duplicate": 0, "rejected": 1}
    letters = ok_json(sfsync("dlq", "list", "--json"))
    assert [letter["reference"] for letter in letters] == ["bad\\ud800"]
