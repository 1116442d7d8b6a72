"""What `POST /v1/ingest` answers about each event (official metronome-sdk, live server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from metronome import Metronome

from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer


@pytest.fixture
def client(server: LiveServer) -> Iterator[Metronome]:
    """An SDK client with an ingest-and-write key."""
    with Metronome(
        bearer_token=server.key(ApiScope.WRITE), base_url=server.url, max_retries=0
    ) as sdk:
        yield sdk


def _event(tx: str, properties: dict[str, Any]) -> Any:
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    return {
        "transaction_id": tx,
        "customer_id": f"nest-{uuid.uuid4().hex[:6]}",
        "event_type": "api_call",
        "timestamp": stamp,
        "properties": properties,
    }


def _nested(levels: int) -> dict[str, Any]:
    """`properties` nested `levels` deep (the object itself is level 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


def test_the_nesting_limit_counts_from_each_event_not_the_request(client: Metronome) -> None:
    """Properties nested 31 levels are stored: the array carrying events adds no level."""
    tx = f"deep-{uuid.uuid4().hex[:8]}"
    answer = client.v1.usage.with_raw_response.ingest(usage=[_event(tx, _nested(31))])
    assert answer.status_code == 200, answer.text()
    assert json.loads(answer.text())["accepted"] == 1


def test_a_duplicate_transaction_id_with_another_payload_says_what_differs(
    client: Metronome,
) -> None:
    """The same transaction_id with other properties: the answer names it and why."""
    tx = f"dup-{uuid.uuid4().hex[:8]}"
    first = _event(tx, {"requests": 1})
    client.v1.usage.ingest(usage=[first])
    changed: Any = {**first, "properties": {"requests": 2}}
    answer = json.loads(client.v1.usage.with_raw_response.ingest(usage=[changed]).text())
    assert answer["duplicate"] == 1
    [reason] = answer["differing_duplicates"]
    assert reason["transaction_id"] == tx and "properties" in reason["reason"]
    same = json.loads(client.v1.usage.with_raw_response.ingest(usage=[first]).text())
    assert "differing_duplicates" not in same
