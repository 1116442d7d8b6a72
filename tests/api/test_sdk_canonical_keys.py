"""Look-alike keys over HTTP with the official metronome-sdk (SQLite and PostgreSQL).

An Account id attached in 15 characters bills events keyed in 18; one Account is one
customer's `sfdc_account_id`; no spelling of a customer's id can be attached elsewhere, and
events keyed on any spelling reach that customer. Ingest racing `setIngestAliases` from
many clients answers every request without an error.
"""

from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import metronome
import pytest
from metronome import Metronome

from sfsync.models.types import ApiScope
from sfsync.sync.salesforce import normalize_id
from tests.api.conftest import LiveServer
from tests.conftest import run_all
from tests.unit.factories import uuid_spellings


def _sdk(server: LiveServer) -> Metronome:
    return Metronome(bearer_token=server.key(ApiScope.ADMIN), base_url=server.url, max_retries=0)


@pytest.fixture
def client(server: LiveServer) -> Iterator[Metronome]:
    with _sdk(server) as sdk:
        yield sdk


def _account15() -> str:
    """A fresh Account id in its 15-character form (the module's store is shared)."""
    return "001" + "".join(random.choices(string.ascii_letters + string.digits, k=12))


def _event(tx: str, key: str) -> Any:
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    return {"transaction_id": tx, "customer_id": key, "event_type": "api_call", "timestamp": stamp}


def _matched(client: Metronome, txs: list[str]) -> dict[str, str | None]:
    found = client.v1.usage.search(transaction_ids=txs)
    return {e.transaction_id: e.matched_customer.id if e.matched_customer else None for e in found}


def test_an_account_id_alias_attached_in_15_characters_bills_events_in_18(
    client: Metronome,
) -> None:
    """The issue's case: attached as 15, stored as 18; events in 15, 18 and lower-case 18
    all reach the customer."""
    id15 = _account15()
    id18 = normalize_id(id15)
    created = client.v1.customers.create(name="Acct", ingest_aliases=[id15]).data
    assert created.ingest_aliases == [id18]
    tag = uuid.uuid4().hex[:8]
    txs = [f"{tag}-{n}" for n in range(3)]
    client.v1.usage.ingest(
        usage=[_event(tx, key) for tx, key in zip(txs, [id15, id18, id18.lower()], strict=True)]
    )
    assert _matched(client, txs) == {tx: created.id for tx in txs}


def test_one_account_is_one_customers_sfdc_account_id_in_any_spelling(client: Metronome) -> None:
    """15 characters, then 18, then lower-case 18: the second and third are 409s."""
    id15 = _account15()
    first = client.v1.customers.create(name="First", custom_fields={"sfdc_account_id": id15}).data
    assert first.custom_fields == {"sfdc_account_id": normalize_id(id15)}
    for spelling in (normalize_id(id15), normalize_id(id15).lower()):
        with pytest.raises(metronome.ConflictError) as info:
            client.v1.customers.create(name="Copy", custom_fields={"sfdc_account_id": spelling})
        assert first.id in info.value.message


def test_no_spelling_of_a_customer_id_is_attached_elsewhere_and_each_reaches_it(
    client: Metronome,
) -> None:
    """All seven spellings: create, external_id and setIngestAliases are 409s naming the
    victim; events keyed on each are the victim's; GET by any spelling is the victim."""
    victim = client.v1.customers.create(name="Victim").data
    attacker = client.v1.customers.create(name="Attacker").data
    spellings = uuid_spellings(uuid.UUID(victim.id))
    for spelling in spellings:
        with pytest.raises(metronome.ConflictError) as info:
            client.v1.customers.create(name="Taker", ingest_aliases=[spelling])
        assert victim.id in info.value.message
        with pytest.raises(metronome.ConflictError):
            client.v1.customers.create(name="Taker", external_id=spelling)
        with pytest.raises(metronome.ConflictError):
            client.v1.customers.set_ingest_aliases(
                customer_id=attacker.id, ingest_aliases=[spelling]
            )
    assert client.v1.customers.retrieve(customer_id=attacker.id).data.ingest_aliases == []
    assert client.v1.customers.retrieve(customer_id=victim.id.upper()).data.id == victim.id
    tag = uuid.uuid4().hex[:8]
    txs = [f"{tag}-{n}" for n in range(len(spellings))]
    client.v1.usage.ingest(usage=[_event(tx, key) for tx, key in zip(txs, spellings, strict=True)])
    assert _matched(client, txs) == {tx: victim.id for tx in txs}


def test_ingest_and_set_ingest_aliases_from_many_clients_never_fail(
    server: LiveServer, client: Metronome
) -> None:
    """8 clients ingesting over a customer's aliases, 8 replacing its set: every request
    answers 200, and the final set is one a replacement made."""
    tag = uuid.uuid4().hex[:8]
    pool = [f"{tag}-org-{n:02d}" for n in range(16)]
    customer = client.v1.customers.create(name="Raced", ingest_aliases=pool[::2]).data
    made: list[frozenset[str]] = []
    lock = threading.Lock()

    def ingester(n: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(n)
            with _sdk(server) as sdk:
                for round_ in range(8):
                    events = [
                        _event(f"{tag}-i{n}-{round_}-{k}", rng.choice(pool)) for k in range(20)
                    ]
                    sdk.v1.usage.ingest(usage=events)
                    sdk.v1.usage.ingest(usage=events)  # a client's retry

        return run

    def replacer(n: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(100 + n)
            with _sdk(server) as sdk:
                for _ in range(8):
                    wanted = rng.sample(pool, rng.randint(3, 12))
                    sdk.v1.customers.set_ingest_aliases(
                        customer_id=customer.id, ingest_aliases=wanted
                    )
                    with lock:
                        made.append(frozenset(wanted))

        return run

    errors = run_all([ingester(n) for n in range(8)] + [replacer(n) for n in range(8)])
    assert errors == []
    final = frozenset(client.v1.customers.retrieve(customer_id=customer.id).data.ingest_aliases)
    assert final in made
    assert "Traceback" not in server.output()
