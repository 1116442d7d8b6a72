"""A request answered 503 at its time limit has written nothing, so a retry never duplicates.

The issue's reproduction: another connection holds a lock on the table a write needs while
`SFSYNC_API_REQUEST_TIMEOUT=2`; the client gets 503, the lock is released, the client retries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import metronome
import pytest
from metronome import Metronome
from sqlalchemy import func, select

from sfsync.models.tables import Contract, Customer, UsageEvent
from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer, ServerFactory
from tests.conftest import appears, table_locked

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def slow_server(server_factory: ServerFactory) -> LiveServer:
    """A server whose requests are answered 503 after two seconds."""
    return server_factory(SFSYNC_API_REQUEST_TIMEOUT=str(TIMEOUT))


@pytest.fixture
def client(slow_server: LiveServer) -> Iterator[Metronome]:
    """An SDK client that does not retry on its own (the test retries)."""
    with Metronome(
        bearer_token=slow_server.key(ApiScope.WRITE), base_url=slow_server.url, max_retries=0
    ) as sdk:
        yield sdk


def _contracts_of(server: LiveServer, customer_id: str) -> int:
    with server.store.reader() as s:
        query = select(func.count()).where(Contract.customer_id == uuid.UUID(customer_id))
        return int(s.scalar(query) or 0)


def _customers_named(server: LiveServer, name: str) -> int:
    with server.store.reader() as s:
        return int(s.scalar(select(func.count()).where(Customer.name == name)) or 0)


def test_a_contract_create_answered_503_wrote_nothing_and_its_retry_makes_one(
    slow_server: LiveServer, client: Metronome
) -> None:
    """contracts/create blocked past the limit: 503, nothing committed later; one on retry."""
    customer = client.v1.customers.create(name=f"Deadline {uuid.uuid4().hex[:8]}").data.id
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with table_locked(slow_server.store.url, "contracts"):
        began = time.monotonic()
        with pytest.raises(metronome.APIStatusError) as refused:
            client.v1.contracts.create(customer_id=customer, starting_at=start)
        assert refused.value.status_code == 503
        assert time.monotonic() - began < TIMEOUT + 3
    client.v1.contracts.create(customer_id=customer, starting_at=start)
    # The abandoned request's thread must not commit once the lock is gone: watch for it.
    assert not appears(lambda: _contracts_of(slow_server, customer) > 1, within=3)
    assert _contracts_of(slow_server, customer) == 1


def test_a_customer_create_answered_503_wrote_nothing_and_its_retry_makes_one(
    slow_server: LiveServer, client: Metronome
) -> None:
    """POST /v1/customers blocked past the limit: 503 and no customer; the retry makes one."""
    name = f"Deadline {uuid.uuid4().hex[:8]}"
    with table_locked(slow_server.store.url, "customers"):
        with pytest.raises(metronome.APIStatusError) as refused:
            client.v1.customers.create(name=name)
        assert refused.value.status_code == 503
    client.v1.customers.create(name=name)
    assert not appears(lambda: _customers_named(slow_server, name) > 1, within=3)
    assert _customers_named(slow_server, name) == 1


def _events_stored(server: LiveServer, prefix: str) -> int:
    with server.store.reader() as s:
        query = select(func.count()).where(UsageEvent.transaction_id.like(f"{prefix}%"))
        return int(s.scalar(query) or 0)


def test_concurrent_ingests_queued_behind_a_held_write_lock_are_503_and_wrote_nothing(
    slow_server: LiveServer,
) -> None:
    """Requests waiting their turn for the store's writer past the limit: 503, none stored;
    their retries store each event once."""
    prefix = f"queued-{uuid.uuid4().hex[:8]}-"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bodies = [
        [
            {
                "transaction_id": f"{prefix}{i}",
                "customer_id": "nobody",
                "event_type": "x",
                "timestamp": stamp,
            }
        ]
        for i in range(4)
    ]
    token = slow_server.key(ApiScope.INGEST)

    def send(body: list[dict[str, str]]) -> int:
        with slow_server.http(token) as http:
            return http.post("/v1/ingest", json=body).status_code

    with table_locked(slow_server.store.url, "usage_events"), ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(send, bodies))
    assert statuses == [503] * 4
    assert not appears(lambda: _events_stored(slow_server, prefix) > 0, within=3)
    assert [send(body) for body in bodies] == [200] * 4
    assert _events_stored(slow_server, prefix) == 4
