"""An event no store can hold as sent is one dead letter over HTTP; its batch is stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from sfsync.models.tables import DeadLetter, UsageEvent
from sfsync.models.types import ApiScope, DeadLetterSource
from tests.api.conftest import LiveServer, ServerFactory


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> LiveServer:
    return server_factory()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.http(server.key(ApiScope.INGEST)) as client:
        yield client


def _event(tx: str) -> dict[str, object]:
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {"transaction_id": tx, "customer_id": "k", "event_type": "e", "timestamp": at}


@pytest.mark.parametrize(
    "bad_tx", ["bad\ud800", "lone \udfff low", "nul\x00here"], ids=["high", "low", "nul"]
)
def test_an_unstorable_transaction_id_is_one_letter_and_the_batch_is_stored(
    http: httpx.Client, server: LiveServer, bad_tx: str
) -> None:
    """One valid event and one whose transaction_id cannot be stored: 400 naming the bad one,
    the valid one stored, one usage-event dead letter with the id escaped."""
    good = f"good-{uuid.uuid4().hex[:8]}"
    bad = f"{bad_tx}-{uuid.uuid4().hex[:8]}"
    # ASCII JSON, so the lone surrogate travels as \ud800, as other clients send it.
    body = json.dumps([_event(good), _event(bad)]).encode()
    response = http.post("/v1/ingest", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    doc = response.json()
    assert doc["accepted"] == 1
    assert [r["index"] for r in doc["rejected"]] == [1]
    escaped = bad.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")
    assert doc["rejected"][0]["transaction_id"] == escaped
    with server.store.session() as s:
        assert s.scalar(select(UsageEvent.transaction_id).where(UsageEvent.transaction_id == good))
        letters = list(
            s.scalars(
                select(DeadLetter).where(
                    DeadLetter.source == DeadLetterSource.USAGE_EVENT,
                    DeadLetter.reference == escaped,
                )
            )
        )
    assert len(letters) == 1
    assert "\\u" in json.dumps(letters[0].payload)
    assert "Traceback" not in server.output()
