"""The official metronome-sdk, unchanged, drives a live `sfsync serve` (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import metronome
import pytest
from metronome import Metronome

from sfsync.models.types import ApiScope
from tests.api.conftest import LiveServer


def _tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def client(server: LiveServer) -> Iterator[Metronome]:
    """An SDK client with an admin key, pointed at the server."""
    with Metronome(
        bearer_token=server.key(ApiScope.ADMIN), base_url=server.url, max_retries=0
    ) as sdk:
        yield sdk


def _event(tx: str, key: str, **properties: object) -> Any:
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    return {
        "transaction_id": tx,
        "customer_id": key,
        "event_type": "api_call",
        "timestamp": stamp,
        "properties": properties,
    }


def test_usage_for_an_unattached_alias_is_pending_until_set_ingest_aliases(
    client: Metronome,
) -> None:
    """Create with aliases and sfdc_account_id; usage for a new alias moves when it is attached."""
    tag = _tag()
    account = f"0015g0000{tag[:6]}AAA"
    created = client.v1.customers.create(
        name=f"Widgets {tag}",
        ingest_aliases=[f"w-{tag}-main"],
        custom_fields={"sfdc_account_id": account},
    ).data
    assert created.ingest_aliases == [f"w-{tag}-main"]
    assert created.custom_fields == {"sfdc_account_id": account}

    later = f"w-{tag}-eu"
    client.v1.usage.ingest(
        usage=[_event(f"{tag}-1", later, requests=3), _event(f"{tag}-2", f"w-{tag}-main")]
    )
    found = {
        e.transaction_id: e
        for e in client.v1.usage.search(transaction_ids=[f"{tag}-1", f"{tag}-2"])
    }
    assert found[f"{tag}-1"].matched_customer is None
    assert found[f"{tag}-1"].customer_id == later
    assert found[f"{tag}-1"].properties == {"requests": 3}
    matched = found[f"{tag}-2"].matched_customer
    assert matched is not None and matched.id == created.id

    client.v1.customers.set_ingest_aliases(
        customer_id=created.id, ingest_aliases=[f"w-{tag}-main", later]
    )
    (moved,) = client.v1.usage.search(transaction_ids=[f"{tag}-1"])
    assert moved.matched_customer is not None
    assert (moved.matched_customer.id, moved.matched_customer.name) == (
        created.id,
        f"Widgets {tag}",
    )

    # Replacing the set detaches what is left out: its usage is pending again.
    client.v1.customers.set_ingest_aliases(customer_id=created.id, ingest_aliases=[later])
    (main,) = client.v1.usage.search(transaction_ids=[f"{tag}-2"])
    assert main.matched_customer is None

    detail = client.v1.customers.retrieve(customer_id=created.id).data
    assert detail.ingest_aliases == [later]
    assert detail.customer_config.salesforce_account_id == account
    assert detail.archived_at is None


def test_an_alias_another_customer_holds_is_a_409_naming_the_holder(client: Metronome) -> None:
    """Creating or setting an alias held elsewhere is refused with the holder's id."""
    tag = _tag()
    holder = client.v1.customers.create(name="Holder", ingest_aliases=[f"a-{tag}"]).data
    other = client.v1.customers.create(name="Other").data
    with pytest.raises(metronome.ConflictError) as created:
        client.v1.customers.create(name="Taker", ingest_aliases=[f"a-{tag}"])
    assert holder.id in created.value.message
    with pytest.raises(metronome.ConflictError) as set_:
        client.v1.customers.set_ingest_aliases(customer_id=other.id, ingest_aliases=[f"a-{tag}"])
    assert holder.id in set_.value.message
    assert client.v1.customers.retrieve(customer_id=other.id).data.ingest_aliases == []


def test_listing_filters_and_pages_past_one_page(client: Metronome) -> None:
    """Each filter keeps what it names; `limit` pages are followed through `next_page`."""
    tag = _tag()
    made = [
        client.v1.customers.create(
            name=f"List {tag} {i}",
            ingest_aliases=[f"l-{tag}-{i}"],
            custom_fields={"sfdc_account_id": f"001L{tag}{i:06d}"},
        ).data.id
        for i in range(5)
    ]
    everyone = [c.id for c in client.v1.customers.list(limit=2)]
    assert everyone == sorted(everyone)
    assert [i for i in everyone if i in made] == made
    first = client.v1.customers.list(limit=2)
    assert len(first.data) == 2 and first.next_page

    by_ids = client.v1.customers.list(customer_ids=[made[1], made[3]])
    assert [c.id for c in by_ids] == [made[1], made[3]]
    by_alias = client.v1.customers.list(ingest_alias=f"l-{tag}-2")
    assert [c.id for c in by_alias] == [made[2]]
    by_account = client.v1.customers.list(salesforce_account_ids=[f"001L{tag}{4:06d}"])
    assert [c.id for c in by_account] == [made[4]]

    client.v1.customers.archive(id=made[0])
    active = {c.id for c in client.v1.customers.list(customer_ids=made)}
    archived = {c.id for c in client.v1.customers.list(customer_ids=made, only_archived=True)}
    assert (active, archived) == (set(made[1:]), {made[0]})


def test_archiving_releases_aliases_for_another_customer(client: Metronome) -> None:
    """An archived customer keeps its record, loses its aliases; usage on them is pending."""
    tag = _tag()
    old = client.v1.customers.create(name="Old", ingest_aliases=[f"r-{tag}"]).data
    client.v1.usage.ingest(usage=[_event(f"{tag}-r", f"r-{tag}")])
    assert client.v1.customers.archive(id=old.id).data.id == old.id
    detail = client.v1.customers.retrieve(customer_id=old.id).data
    assert detail.archived_at is not None and detail.ingest_aliases == []
    (event,) = client.v1.usage.search(transaction_ids=[f"{tag}-r"])
    assert event.matched_customer is None
    new = client.v1.customers.create(name="New", ingest_aliases=[f"r-{tag}"]).data
    (event,) = client.v1.usage.search(transaction_ids=[f"{tag}-r"])
    assert event.matched_customer is not None and event.matched_customer.id == new.id


def test_set_name_renames(client: Metronome) -> None:
    """setName answers with the renamed customer."""
    created = client.v1.customers.create(name="Before").data
    assert client.v1.customers.set_name(customer_id=created.id, name="After").data.name == "After"
    assert client.v1.customers.retrieve(customer_id=created.id).data.name == "After"


def test_custom_field_keys_and_values(client: Metronome) -> None:
    """addKey, listKeys, setValues (unique values refused twice), deleteValues, removeKey."""
    key = f"tier_{_tag()}"
    client.v1.custom_fields.add_key(entity="customer", key=key, enforce_uniqueness=True)
    keys = {(k.entity, k.key, k.enforce_uniqueness) for k in client.v1.custom_fields.list_keys()}
    assert ("customer", key, True) in keys
    assert ("customer", "sfdc_account_id", True) in keys
    a = client.v1.customers.create(name="A").data
    b = client.v1.customers.create(name="B").data
    client.v1.custom_fields.set_values(
        entity="customer", entity_id=a.id, custom_fields={key: "gold"}
    )
    assert client.v1.customers.retrieve(customer_id=a.id).data.custom_fields == {key: "gold"}
    with pytest.raises(metronome.ConflictError):
        client.v1.custom_fields.set_values(
            entity="customer", entity_id=b.id, custom_fields={key: "gold"}
        )
    client.v1.custom_fields.delete_values(entity="customer", entity_id=a.id, keys=[key])
    assert client.v1.customers.retrieve(customer_id=a.id).data.custom_fields == {}
    client.v1.custom_fields.set_values(entity="customer", entity_id=a.id, custom_fields={key: "x"})
    client.v1.custom_fields.remove_key(entity="customer", key=key)
    keys_after = {k.key for k in client.v1.custom_fields.list_keys(entities=["customer"])}
    assert key not in keys_after
    assert client.v1.customers.retrieve(customer_id=a.id).data.custom_fields == {}
    with pytest.raises(metronome.BadRequestError):
        client.v1.custom_fields.set_values(
            entity="customer", entity_id=a.id, custom_fields={key: "y"}
        )
    with pytest.raises(metronome.BadRequestError):
        client.v1.custom_fields.add_key(entity="plan", key=key, enforce_uniqueness=False)


def test_contracts_create_get_list(client: Metronome) -> None:
    """A created contract reads back with its period and fields; list pages by cursor."""
    customer = client.v1.customers.create(name="Contracted").data
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [
        client.v1.contracts.create(
            customer_id=customer.id,
            starting_at=start + timedelta(days=31 * i),
            ending_before=start + timedelta(days=31 * i + 365),
            name=f"Year {i}",
            custom_fields={"sfdc_opportunity_id": f"006C{_tag()}AAAAAA"} if i == 0 else {},
        ).data.id
        for i in range(3)
    ]
    got = client.v1.contracts.retrieve(contract_id=ids[0], customer_id=customer.id).data
    assert got.customer_id == customer.id
    assert got.current.name == "Year 0"
    assert got.current.starting_at == start
    assert got.current.ending_before == start + timedelta(days=365)
    assert set(got.custom_fields or {}) == {"sfdc_opportunity_id"}
    assert [c.id for c in client.v1.contracts.list(customer_id=customer.id, limit=2)] == ids
    page = client.v1.contracts.list(customer_id=customer.id, limit=2)
    assert len(page.data) == 2 and page.cursor
    covering = client.v1.contracts.list(
        customer_id=customer.id, covering_date=start + timedelta(days=20)
    )
    assert [c.id for c in covering] == [ids[0]]
    with pytest.raises(metronome.NotFoundError):
        other = client.v1.customers.create(name="Someone else").data
        client.v1.contracts.retrieve(contract_id=ids[0], customer_id=other.id)
    with pytest.raises(metronome.BadRequestError):
        client.v1.contracts.create(
            customer_id=customer.id, starting_at=start, ending_before=start - timedelta(days=1)
        )


def test_ingest_is_idempotent_and_names_rejected_events(
    client: Metronome, server: LiveServer
) -> None:
    """A duplicate is accepted again; an invalid event is a 400 naming it, the rest stored."""
    tag = _tag()
    good = _event(f"{tag}-ok", f"nobody-{tag}")
    client.v1.usage.ingest(usage=[good])
    client.v1.usage.ingest(usage=[good])
    bad: Any = {**_event(f"{tag}-bad", "x"), "timestamp": "yesterday"}
    with pytest.raises(metronome.BadRequestError) as refused:
        client.v1.usage.ingest(usage=[_event(f"{tag}-ok2", "k"), bad])
    body = refused.value.body
    assert isinstance(body, dict)
    assert [(r["index"], r["transaction_id"]) for r in body["rejected"]] == [(1, f"{tag}-bad")]
    assert "timestamp" in body["rejected"][0]["reason"]
    found = {
        e.transaction_id
        for e in client.v1.usage.search(transaction_ids=[f"{tag}-ok", f"{tag}-ok2", f"{tag}-bad"])
    }
    assert found == {f"{tag}-ok", f"{tag}-ok2"}


def test_more_events_than_a_request_may_carry_is_refused_whole(client: Metronome) -> None:
    """101 events: 400 saying the limit of 100, and none of them stored."""
    tag = _tag()
    with pytest.raises(metronome.BadRequestError) as refused:
        client.v1.usage.ingest(usage=[_event(f"{tag}-{i}", "k") for i in range(101)])
    assert "100" in refused.value.message
    assert client.v1.usage.search(transaction_ids=[f"{tag}-0"]) == []


def test_an_endpoint_the_model_does_not_cover_is_a_clear_404(client: Metronome) -> None:
    """A Metronome endpoint outside the model answers 404 saying so, never a 500."""
    with pytest.raises(metronome.NotFoundError) as missing:
        client.v1.plans.list()
    assert "does not cover" in missing.value.message
