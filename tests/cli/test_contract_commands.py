"""`sfsync contracts show / list / history`: status, period and every change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sfsync.models import Store
from sfsync.models.contracts.records import end_contract
from sfsync.models.contracts.revisions import Change
from tests.cli.conftest import Invoke, ok_json


def test_history_and_show_follow_a_contract_through_its_end(sfsync: Invoke, store_url: str) -> None:
    """An ended contract shows `ended` and its end; its history lists created then ended."""
    customer = ok_json(sfsync("customers", "create", "Acme", "--json"))
    created = ok_json(
        sfsync(
            "contracts", "create", str(customer["id"]), "--name", "Plan",
            "--starting-at", "2026-01-01", "--ending-before", "2027-01-01", "--json",
        )
    )  # fmt: skip
    lost_at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    store = Store(store_url)
    try:
        with store.session() as s:
            end_contract(
                s,
                uuid.UUID(created["id"]),
                lost_at,
                Change("test", source_version=lost_at, run_id=3),
            )
    finally:
        store.close()

    shown = ok_json(sfsync("contracts", "show", str(created["id"]), "--json"))
    listed = ok_json(sfsync("contracts", "list", "--json"))
    history = ok_json(sfsync("contracts", "history", str(created["id"]), "--json"))
    table = sfsync("contracts", "history", str(created["id"]))

    assert (shown["status"], shown["ending_before"]) == ("ended", lost_at.isoformat())
    assert [(r["status"], r["ending_before"]) for r in listed] == [("ended", lost_at.isoformat())]
    assert [h["kind"] for h in history] == ["created", "ended"]
    assert history[1]["before"]["ending_before"] == "2027-01-01T00:00:00+00:00"
    assert (history[1]["after"]["status"], history[1]["run_id"]) == ("ended", 3)
    assert table.exit_code == 0 and "ended" in table.stdout
