"""Retried writes are safe (official metronome-sdk): uniqueness_key, Idempotency-Key, final 409s."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import metronome
import pytest
from metronome import Metronome
from sqlalchemy import func, select

from sfsync.models.tables import Contract, Customer
from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer

START = datetime(2026, 1, 1, tzinfo=UTC)


class Requests:
    """The requests an SDK client sent (an httpx event hook counts them)."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        self.sent.append(request)


@pytest.fixture
def sent() -> Requests:
    """What the SDK client below sent."""
    return Requests()


@pytest.fixture
def client(server: LiveServer, sent: Requests) -> Iterator[Metronome]:
    """An SDK client with its default retries, counting what it sends."""
    http = httpx.Client(event_hooks={"request": [sent]})
    with Metronome(
        bearer_token=server.key(ApiScope.ADMIN), base_url=server.url, http_client=http
    ) as sdk:
        yield sdk


def _recent() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _customer(client: Metronome) -> str:
    return client.v1.customers.create(name=f"Retry {_tag()}").data.id


def _count(server: LiveServer, query: object) -> int:
    with server.store.reader() as s:
        return int(s.scalar(query) or 0)  # type: ignore[call-overload]


def test_a_second_contract_create_with_the_same_uniqueness_key_is_a_409_naming_the_first(
    server: LiveServer, client: Metronome, sent: Requests
) -> None:
    """uniqueness_key is accepted; its second use is a 409 naming the contract, not retried."""
    customer = _customer(client)
    key = f"deal-{_tag()}"
    first = client.v1.contracts.create(customer_id=customer, starting_at=START, uniqueness_key=key)
    before = len(sent.sent)
    with pytest.raises(metronome.ConflictError) as conflict:
        client.v1.contracts.create(customer_id=customer, starting_at=START, uniqueness_key=key)
    assert first.data.id in conflict.value.message
    assert conflict.value.response.headers["x-should-retry"] == "false"
    assert len(sent.sent) == before + 1, "the SDK resent a 409"
    query = select(func.count()).where(Contract.customer_id == uuid.UUID(customer))
    assert _count(server, query) == 1


def test_a_retried_customer_create_with_an_idempotency_key_gets_the_first_answer(
    server: LiveServer, client: Metronome
) -> None:
    """The same Idempotency-Key and body: the first customer again, created once."""
    name, key = f"Idem {_tag()}", f"idem-{_tag()}"
    headers = {"Idempotency-Key": key}
    first = client.v1.customers.with_raw_response.create(name=name, extra_headers=headers)
    again = client.v1.customers.with_raw_response.create(name=name, extra_headers=headers)
    assert again.parse().data.id == first.parse().data.id
    assert again.headers.get("idempotent-replayed") == "true"
    assert _count(server, select(func.count()).where(Customer.name == name)) == 1


def test_an_idempotency_key_reused_with_another_body_is_a_409_saying_so(
    client: Metronome,
) -> None:
    """One key, two different requests: the second is refused with a clear reason."""
    headers = {"Idempotency-Key": f"idem-{_tag()}"}
    client.v1.customers.create(name=f"First {_tag()}", extra_headers=headers)
    with pytest.raises(metronome.ConflictError) as conflict:
        client.v1.customers.create(name=f"Second {_tag()}", extra_headers=headers)
    assert "different request" in conflict.value.message


def test_a_failed_request_keeps_no_idempotency_answer_so_its_retry_runs_again(
    client: Metronome,
) -> None:
    """A 409 is not kept under the key: once the cause is gone, the same retry succeeds."""
    alias = f"held-{_tag()}"
    holder = client.v1.customers.create(name=f"Holder {_tag()}", ingest_aliases=[alias]).data.id
    headers = {"Idempotency-Key": f"idem-{_tag()}"}
    name = f"Wants {_tag()}"
    with pytest.raises(metronome.ConflictError):
        client.v1.customers.create(name=name, ingest_aliases=[alias], extra_headers=headers)
    client.v1.customers.set_ingest_aliases(customer_id=holder, ingest_aliases=[])
    created = client.v1.customers.create(name=name, ingest_aliases=[alias], extra_headers=headers)
    assert created.data.ingest_aliases == [alias]


def test_every_write_endpoint_replays_its_first_answer_to_an_idempotency_key(
    server: LiveServer,
) -> None:
    """setName, setIngestAliases, custom fields and ingest: a retry is answered, not re-run."""
    token = server.key(ApiScope.ADMIN)
    with server.http(token) as http:
        customer = http.post("/v1/customers", json={"name": f"W {_tag()}"}).json()["data"]["id"]
        writes = [
            (f"/v1/customers/{customer}/setName", {"name": f"Renamed {_tag()}"}),
            (f"/v1/customers/{customer}/setIngestAliases", {"ingest_aliases": [f"a-{_tag()}"]}),
            (
                "/v1/customFields/addKey",
                {"entity": "customer", "key": f"k{_tag()}", "enforce_uniqueness": False},
            ),
            (
                "/v1/contracts/create",
                {"customer_id": customer, "starting_at": "2026-01-01T00:00:00Z"},
            ),
            (
                "/v1/ingest",
                [
                    {
                        "transaction_id": _tag(),
                        "customer_id": customer,
                        "event_type": "x",
                        "timestamp": _recent(),
                        "properties": {},
                    }
                ],
            ),
        ]
        for path, body in writes:
            headers = {"Idempotency-Key": f"idem-{_tag()}"}
            first = http.post(path, json=body, headers=headers)
            again = http.post(path, json=body, headers=headers)
            assert first.status_code == 200, (path, first.text)
            assert (again.status_code, again.content) == (first.status_code, first.content), path
            assert again.headers.get("idempotent-replayed") == "true", path
